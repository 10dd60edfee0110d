"""S3-Router: learn which weights stay connected instead of the weights
(spec ``s3_router.md``, after Fu et al., NeurIPS 2022).

`MaskedLinear` replaces an ``nn.Linear`` of a frozen model: its weight and
bias stay fixed, a real score per weight is learned, and the forward uses
``weight * mask`` where the mask drops, per weight tensor, the
``floor(sparsity * numel)`` weights with the lowest ``|score|``. The
gradient reaches the scores straight through the mask:
``dL/dscore = (dL/dW_eff * W) * sign(score)``, so a dropped weight can come
back.

- `route`: put `MaskedLinear` in place of the named linear layers (the
  spec's fine-tuning mode: the feed-forward layers of every Transformer
  block; pruning mode: attention projections too);
- `pack_masks` / `load_masks`: a task's masks, 1 bit per routed weight;
  switching tasks = loading its masks (and its head);
- `make_permanent`: plain ``nn.Linear`` layers with real zeros;
- `mask_similarity`, `magnitude_masks`: the analysis.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math
import re

import numpy as np
import torch
from torch import nn

# transformers' HuBERT/wav2vec2 block linear layers (spec: fc1/fc2 and the
# attention q, k, v, out projections), and the two macaron feed-forward
# modules of SpeechBrain's Conformer layers (and of ours, which reuse them):
# ``ffn_module1|2`` = (LayerNorm, PositionalwiseFeedForward(Linear, act,
# Dropout, Linear), Dropout).
FEED_FORWARD = (r"\.feed_forward\.intermediate_dense$",
                r"\.feed_forward\.output_dense$",
                r"\.ffn_module[12]\.1\.ffn\.[03]$")
ATTENTION = (r"\.attention\.q_proj$", r"\.attention\.k_proj$",
             r"\.attention\.v_proj$", r"\.attention\.out_proj$")
TARGETS = {"finetune": FEED_FORWARD, "prune": FEED_FORWARD + ATTENTION}


def keep_mask(scores, sparsity):
    """Per tensor, 0 for the ``floor(sparsity * numel)`` lowest ``|score|``
    and 1 elsewhere.

    Example
    -------
    >>> keep_mask(torch.tensor([[0.1, -3.0], [2.0, 0.5]]), 0.5)
    tensor([[0., 1.],
            [1., 0.]])
    """
    dropped = math.floor(sparsity * scores.numel())
    mask = torch.ones_like(scores)
    if dropped > 0:
        order = scores.abs().flatten().argsort()
        mask.view(-1)[order[:dropped]] = 0.0
    return mask


class _StraightThroughMask(torch.autograd.Function):
    """Forward: the binary mask of the scores; backward: the incoming
    gradient times ``sign(score)`` (the straight-through estimator on
    ``|score|``)."""

    @staticmethod
    def forward(ctx, scores, sparsity):
        ctx.save_for_backward(scores)
        return keep_mask(scores, sparsity)

    @staticmethod
    def backward(ctx, grad):
        (scores,) = ctx.saved_tensors
        return grad * torch.sign(scores), None


def init_scores(weight, method="kaiming_uniform", generator=None):
    """Initial scores of a weight tensor.

    Arguments
    ---------
    weight : torch.Tensor
        The frozen weight.
    method : str
        ``kaiming_uniform`` (default), ``weight_rank`` (random scores
        reordered so that their ``|score|`` ranks are the ``|weight|``
        ranks: the first mask is magnitude pruning) or ``weight`` (the
        weights themselves: pruning mode).
    generator : torch.Generator, optional
        For the random draws.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> w = torch.tensor([[0.1, -3.0], [2.0, 0.5]])
    >>> s = init_scores(w, "weight_rank")
    >>> bool((s.abs().flatten().argsort() == w.abs().flatten().argsort()).all())
    True
    """
    if method == "weight":
        return weight.detach().clone()
    scores = torch.empty_like(weight)
    bound = 1.0 / math.sqrt(weight.shape[1] if weight.dim() > 1 else 1)
    scores.uniform_(-bound, bound, generator=generator)
    if method == "kaiming_uniform":
        return scores
    if method == "weight_rank":
        ranked = scores.abs().flatten().sort().values
        signs = torch.sign(scores.flatten())
        out = torch.empty_like(ranked)
        out[weight.abs().flatten().argsort()] = ranked
        return (out * signs).view_as(weight)
    raise ValueError(
        f"score init {method!r}: expected kaiming_uniform, weight_rank or "
        "weight.")


class MaskedLinear(nn.Module):
    """A frozen ``nn.Linear`` whose connections are chosen by learned
    scores.

    Arguments
    ---------
    linear : torch.nn.Linear
        The layer to route (its weight and bias are kept, frozen).
    sparsity : float
        Share of the weights dropped (0: the original layer).
    init : str
        Score initialisation (see `init_scores`).
    generator : torch.Generator, optional
        For the score draws.

    Example
    -------
    >>> layer = MaskedLinear(nn.Linear(8, 4), sparsity=0.25)
    >>> int((layer.mask() == 0).sum())
    8
    >>> layer(torch.randn(2, 8)).shape
    torch.Size([2, 4])
    """

    def __init__(self, linear, sparsity, init="kaiming_uniform",
                 generator=None):
        super().__init__()
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity={sparsity}: expected 0 <= s < 1.")
        self.weight = nn.Parameter(linear.weight.detach().clone(),
                                   requires_grad=False)
        self.bias = None if linear.bias is None else nn.Parameter(
            linear.bias.detach().clone(), requires_grad=False)
        self.scores = nn.Parameter(init_scores(self.weight, init, generator))
        self.sparsity = sparsity
        self.register_buffer("fixed_mask", None, persistent=False)

    @property
    def in_features(self):
        return self.weight.shape[1]

    @property
    def out_features(self):
        return self.weight.shape[0]

    def mask(self):
        """The current binary mask (a loaded task mask when one is set)."""
        if self.fixed_mask is not None:
            return self.fixed_mask
        return keep_mask(self.scores.detach(), self.sparsity)

    def forward(self, x):
        """``x @ (weight * mask).T + bias``."""
        if self.fixed_mask is not None:
            mask = self.fixed_mask
        else:
            mask = _StraightThroughMask.apply(self.scores, self.sparsity)
        return nn.functional.linear(x, self.weight * mask, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, "
                f"out_features={self.out_features}, "
                f"sparsity={self.sparsity}")


def route(model, sparsity, mode="finetune", patterns=None,
          init="kaiming_uniform", seed=0):
    """Freezes ``model`` and replaces its routed linear layers by
    `MaskedLinear`.

    Arguments
    ---------
    model : torch.nn.Module
        E.g. a ``transformers`` HuBERT/wav2vec2 model, a Conformer encoder
        (SpeechBrain's or a SummaryMixing one), or a module holding one (the
        patterns match the end of the module names).
    sparsity : float
        Share of each routed weight tensor dropped.
    mode : str
        ``finetune`` (feed-forward layers of each block) or ``prune``
        (also the attention projections).
    patterns : list of str, optional
        Regular expressions of module names instead of ``mode``'s.
    init : str
        Score initialisation (see `init_scores`).
    seed : int
        For the score draws.

    Returns
    -------
    list of str
        The routed module names.

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> encoder = ConformerEncoder(num_layers=1, d_model=16, d_ffn=32, nhead=2)
    >>> route(encoder, sparsity=0.1)
    ['layers.0.ffn_module1.1.ffn.0', 'layers.0.ffn_module1.1.ffn.3', 'layers.0.ffn_module2.1.ffn.0', 'layers.0.ffn_module2.1.ffn.3']
    >>> sorted({n.rsplit(".", 1)[1] for n, p in encoder.named_parameters() if p.requires_grad})
    ['scores']
    """
    patterns = [re.compile(p) for p in (patterns or TARGETS[mode])]
    model.requires_grad_(False)
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear)
             and any(p.search(name) for p in patterns)]
    if not names:
        raise ValueError(
            f"no linear layer of {type(model).__name__} matches "
            f"{[p.pattern for p in patterns]}.")
    generator = torch.Generator().manual_seed(seed)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, MaskedLinear(getattr(parent, child), sparsity,
                                            init, generator))
    return names


def routed_layers(model):
    """Name -> `MaskedLinear` of a routed model."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, MaskedLinear)}


def pack_masks(model):
    """The routed layers' current masks, 1 bit per weight.

    Arguments
    ---------
    model : torch.nn.Module
        A routed model.

    Returns
    -------
    dict
        Name -> ``{"shape": [...], "bits": uint8 tensor}``.
    """
    packed = {}
    for name, layer in routed_layers(model).items():
        mask = layer.mask().to(torch.uint8).flatten().cpu().numpy()
        packed[name] = {"shape": list(layer.weight.shape),
                        "bits": torch.from_numpy(np.packbits(mask))}
    return packed


def unpack_mask(entry):
    """A mask from its `pack_masks` entry."""
    count = int(np.prod(entry["shape"]))
    bits = np.unpackbits(entry["bits"].numpy(), count=count)
    return torch.from_numpy(bits.astype(np.float32)).view(entry["shape"])


def load_masks(model, packed):
    """Fixes the routed layers' masks to a task's packed masks (``None``:
    back to the learned scores).

    Arguments
    ---------
    model : torch.nn.Module
        A routed model.
    packed : dict or None
        From `pack_masks`.
    """
    layers = routed_layers(model)
    if packed is None:
        for layer in layers.values():
            layer.fixed_mask = None
        return
    missing = sorted(set(layers) - set(packed))
    if missing:
        raise KeyError(f"no mask for the routed layers {missing[:3]}...")
    for name, layer in layers.items():
        layer.fixed_mask = unpack_mask(packed[name]).to(layer.weight.device)


def make_permanent(model):
    """Replaces every `MaskedLinear` by an ``nn.Linear`` holding
    ``weight * mask`` (real zeros): the pruned model.

    Arguments
    ---------
    model : torch.nn.Module
        A routed model (changed in place).

    Returns
    -------
    float
        The share of zeros in the routed weights.
    """
    zeros = total = 0
    for name, layer in routed_layers(model).items():
        linear = nn.Linear(layer.in_features, layer.out_features,
                           bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(layer.weight * layer.mask())
            if layer.bias is not None:
                linear.bias.copy_(layer.bias)
        zeros += int((linear.weight == 0).sum())
        total += linear.weight.numel()
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, linear)
    return zeros / max(total, 1)


def magnitude_masks(model, sparsity):
    """One-shot magnitude pruning masks of the routed layers' weights (the
    analysis' reference and the OMP baseline).

    Returns
    -------
    dict
        Name -> binary mask.
    """
    return {name: keep_mask(layer.weight, sparsity)
            for name, layer in routed_layers(model).items()}


def mask_similarity(masks_a, masks_b):
    """Per layer and overall: cosine similarity of the flattened binary
    masks, and IoU of the removed sets.

    Arguments
    ---------
    masks_a, masks_b : dict
        Name -> binary mask (or `pack_masks` entries).

    Returns
    -------
    dict
        ``{"layers": {name: {"cosine", "iou_removed"}}, "cosine",
        "iou_removed"}`` (overall: over all routed weights).

    Example
    -------
    >>> a = {"l": torch.tensor([1.0, 1.0, 0.0, 0.0])}
    >>> b = {"l": torch.tensor([1.0, 0.0, 1.0, 0.0])}
    >>> sim = mask_similarity(a, b)
    >>> round(sim["cosine"], 4), round(sim["iou_removed"], 4)
    (0.5, 0.3333)
    """
    def dense(mask):
        return unpack_mask(mask) if isinstance(mask, dict) else mask.float()

    layers, all_a, all_b = {}, [], []
    for name in sorted(set(masks_a) & set(masks_b)):
        a, b = dense(masks_a[name]).flatten(), dense(masks_b[name]).flatten()
        layers[name] = _similarity(a, b)
        all_a.append(a)
        all_b.append(b)
    if not layers:
        raise ValueError("the two mask sets share no layer.")
    overall = _similarity(torch.cat(all_a), torch.cat(all_b))
    return {"layers": layers, **overall}


def _similarity(a, b):
    """Cosine of two binary vectors and IoU of their zero sets."""
    cosine = float((a * b).sum() / (a.norm() * b.norm()).clamp(min=1e-12))
    removed_a, removed_b = a == 0, b == 0
    union = int((removed_a | removed_b).sum())
    iou = float((removed_a & removed_b).sum()) / union if union else 1.0
    return {"cosine": cosine, "iou_removed": iou}
