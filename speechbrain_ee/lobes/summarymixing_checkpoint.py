"""Loads the SummaryMixing authors' checkpoints into speechbrain_ee lobes.

The authors' SpeechBrain code (SamsungLabs/SummaryMixing) names and shapes
some parameters differently from ours; everything else (SpeechBrain's
feed-forward, convolution, cgMLP, decoder and front-end modules) has the
same names. `summarymixing_key_map` rewrites a state dict of theirs into
ours:

========================================  ==================================
theirs                                    ours
========================================  ==================================
``<layer>.mha_layer.``                    ``<layer>.summary_mixing.``
``local_proj.linear.weights [G, i, o]``   ``local_proj.0.weight [G*o, i]``
``local_proj.linear.biases [G, o]``       ``local_proj.0.bias [G*o]``
``local_proj.linear.w.weight`` (1 head)   ``local_proj.0.weight``
``local_proj.linear_<k>.``                ``local_proj.<2k + 2>.``
``summary_proj.*``                        ``summary_proj.*`` (as local)
``summary_local_merging.linear.w.*``      ``combiner.0.*``
``global_proj.linear.w.*`` (fast mode)    ``fused_proj.0.*``
``local_norm.weight`` / ``.bias``         ``local_norm.norm.weight`` / ...
``summary_norm.weight`` / ``.bias``       ``summary_norm.norm.weight`` / ...
``merge_proj.linear[_<k>].w.*``           ``merge_proj.<index>.*``
========================================  ==================================

The authors' layers keep LayerNorm parameters that their lite and fast modes
never use; `load_summarymixing_checkpoint` drops those the target model does
not have. Their ``decay_constant`` (the optional, quadratic exp-decay mode)
has no counterpart.

Authors
-------
* speechbrain-ee contributors 2026
"""

import re
from collections import OrderedDict

import torch

_RENAMED_MLPS = {
    "global_proj": "fused_proj",
    "summary_local_merging": "combiner",
}
_NORMS = ("local_norm", "summary_norm")
_MLP_KEY = re.compile(
    r"^(?P<prefix>.*?)(?P<mlp>local_proj|summary_proj|global_proj|merge_proj"
    r"|summary_local_merging)\.linear(?:_(?P<k>\d+))?\."
    r"(?P<param>weights|biases|w\.weight|w\.bias)$"
)
_MHA_LAYER = re.compile(r"(^|\.)mha_layer\.")
_NORM_KEY = re.compile(
    r"^(?P<prefix>(?:.*\.)?summary_mixing\.)"
    r"(?P<norm>local_norm|summary_norm)\."
    r"(?P<param>weight|bias)$"
)


def _mlp_entry(match, value):
    """Our key and tensor for one linear of an authors' MLP."""
    mlp = _RENAMED_MLPS.get(match["mlp"], match["mlp"])
    k = match["k"]
    index = 0 if k is None else 2 * int(k) + 2  # linear, act, linear_0, ...
    param = match["param"]
    name = "weight" if param in ("weights", "w.weight") else "bias"
    if param == "weights":  # ParallelLinear [G, in / G, out / G]
        value = value.transpose(1, 2).flatten(0, 1)
    elif param == "biases":  # [G, out / G]
        value = value.flatten()
    return f"{match['prefix']}{mlp}.{index}.{name}", value


def summarymixing_key_map(state_dict):
    """Rewrites the authors' SummaryMixing state dict into ours.

    Arguments
    ---------
    state_dict : dict
        Parameters in the authors' layout (a whole model, e.g. the
        ``model.ckpt`` of their recipes, or any part of one).

    Returns
    -------
    OrderedDict
        The same tensors under our names and shapes.

    Example
    -------
    >>> theirs = {
    ...     "encoder.layers.0.mha_layer.local_proj.linear.weights":
    ...         torch.zeros(4, 16, 8),
    ...     "encoder.layers.0.mha_layer.local_norm.weight": torch.ones(32),
    ... }
    >>> for key, value in summarymixing_key_map(theirs).items():
    ...     print(key, tuple(value.shape))
    encoder.layers.0.summary_mixing.local_proj.0.weight (32, 16)
    encoder.layers.0.summary_mixing.local_norm.norm.weight (32,)
    """
    ours = OrderedDict()
    for key, value in state_dict.items():
        key = _MHA_LAYER.sub(r"\1summary_mixing.", key)
        match = _MLP_KEY.match(key)
        if match:
            key, value = _mlp_entry(match, value)
        else:
            norm = _NORM_KEY.match(key)
            if norm:
                key = f"{norm['prefix']}{norm['norm']}.norm.{norm['param']}"
        ours[key] = value
    return ours


def load_summarymixing_checkpoint(model, checkpoint, strict=True):
    """Loads an authors' SummaryMixing checkpoint into one of our models.

    Arguments
    ---------
    model : torch.nn.Module
        A model built from our lobes with the same sizes as the checkpoint,
        e.g. `speechbrain_ee.lobes.TransformerASR` with
        ``attention_type="SummaryMixing"`` (or a ``ModuleList`` holding it,
        for their recipes' ``model.ckpt``).
    checkpoint : str, os.PathLike or dict
        A file saved with ``torch.save`` (SpeechBrain's ``*.ckpt``) or a
        state dict, in the authors' layout.
    strict : bool
        As ``torch.nn.Module.load_state_dict``.

    Returns
    -------
    NamedTuple
        ``missing_keys`` and ``unexpected_keys`` of ``load_state_dict``.

    Example
    -------
    >>> from speechbrain_ee.nnet.summary_mixing import SummaryMixing
    >>> layer = torch.nn.Module()
    >>> layer.summary_mixing = SummaryMixing(
    ...     8, nhead=1, local_proj_hid_dim=[], summary_hid_dim=[]
    ... )
    >>> theirs = {
    ...     k.replace("summary_mixing.", "mha_layer.")
    ...      .replace("_proj.0.weight", "_proj.linear.w.weight")
    ...      .replace("_proj.0.bias", "_proj.linear.w.bias")
    ...      .replace("combiner.0.", "summary_local_merging.linear.w.")
    ...      .replace("norm.norm.", "norm."): v
    ...     for k, v in layer.state_dict().items()
    ... }
    >>> load_summarymixing_checkpoint(layer, theirs)
    <All keys matched successfully>
    """
    if not isinstance(checkpoint, dict):
        checkpoint = torch.load(checkpoint, map_location="cpu")
    state_dict = summarymixing_key_map(checkpoint)
    expected = model.state_dict()
    for key in list(state_dict):
        unused_norm = any(f".{norm}." in key for norm in _NORMS)
        if unused_norm and key not in expected:
            del state_dict[key]  # lite / fast modes: the authors' idle norms
        elif key.endswith("decay_constant"):
            del state_dict[key]
    return model.load_state_dict(state_dict, strict=strict)
