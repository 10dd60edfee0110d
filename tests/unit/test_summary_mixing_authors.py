"""SummaryMixing against hand-written references with the structure (module
names, parameter shapes, formulas) of the SummaryMixing authors' SpeechBrain
code, mode by mode; their checkpoints' key layout loaded with
`load_summarymixing_checkpoint`; the Branchformer cgMLP padding against
SpeechBrain's.

The references are written here from the authors' published definitions
(no code copied): ``ParallelLinear`` keeps its weights as ``weights [heads,
in / heads, out / heads]`` and ``biases [heads, out / heads]``; a
``VanillaNN`` names its layers ``linear``, ``act``, ``linear_0``, ``act_0``,
...; a one-head linear is SpeechBrain's ``Linear`` (``w.weight``, ``w.bias``).
Run with ``-s`` to see the max differences and parameter counts per mode.
"""

import pytest
import torch
from speechbrain.lobes.models.transformer.Branchformer import ConvolutionBranch
from speechbrain.nnet.linear import Linear
from torch import nn

from speechbrain_ee.lobes import TransformerASR, load_summarymixing_checkpoint
from speechbrain_ee.lobes.summary_mixing_encoders import (
    MaskedConvolutionBranch,
)
from speechbrain_ee.nnet.summary_mixing import SummaryMixing

MODES = ("SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast")


class RefParallelLinear(nn.Module):
    """Per-head linear maps, weights ``[heads, in / heads, out / heads]``."""

    def __init__(self, input_size, output_size, heads):
        super().__init__()
        self.heads = heads
        self.weights = nn.Parameter(
            torch.randn(heads, input_size // heads, output_size // heads) * 0.3
        )
        self.biases = nn.Parameter(
            torch.randn(heads, output_size // heads) * 0.3
        )

    def forward(self, x):
        x = x.unflatten(-1, (self.heads, -1))
        out = torch.einsum("btmf,mfh->btmh", x, self.weights) + self.biases
        return out.flatten(-2)


class RefVanillaNN(nn.Module):
    """``linear``, ``act``, ``linear_0``, ``act_0``, ...: each linear (one
    per head when ``heads > 1``) followed by the activation."""

    def __init__(self, input_size, sizes, heads=1, activation=nn.GELU):
        super().__init__()
        self.order = []
        for i, size in enumerate(sizes):
            suffix = "" if i == 0 else f"_{i - 1}"
            if heads > 1:
                linear = RefParallelLinear(input_size, size, heads)
            else:
                linear = Linear(n_neurons=size, input_size=input_size)
                nn.init.normal_(linear.w.bias, std=0.3)
            setattr(self, f"linear{suffix}", linear)
            setattr(self, f"act{suffix}", activation())
            self.order += [f"linear{suffix}", f"act{suffix}"]
            input_size = size

    def forward(self, x):
        for name in self.order:
            x = getattr(self, name)(x)
        return x


class RefSummaryMixing(nn.Module):
    """The authors' layer (eval mode): full, lite and fast modes."""

    def __init__(self, d, heads, local_hid, local_out, summary_hid,
                 summary_out, mode, use_layernorm=True):
        super().__init__()
        self.mode, self.local_out = mode, local_out
        self.use_layernorm = use_layernorm
        if mode == "SummaryMixing":
            self.local_proj = RefVanillaNN(d, local_hid + [local_out], heads)
            self.summary_local_merging = RefVanillaNN(
                local_out + summary_out, [summary_out]
            )
        if mode == "SummaryMixing-fast":
            self.global_proj = RefVanillaNN(d, [2 * local_out])
            self.summary_local_merging = RefVanillaNN(
                2 * local_out, [summary_out]
            )
        else:
            self.summary_proj = RefVanillaNN(
                d, summary_hid + [summary_out], heads
            )
        if use_layernorm:  # created in every mode, used in the full one
            self.local_norm = nn.LayerNorm(local_out)
            self.summary_norm = nn.LayerNorm(summary_out)
            for norm in (self.local_norm, self.summary_norm):
                nn.init.normal_(norm.weight, 1.0, 0.2)
                nn.init.normal_(norm.bias, std=0.2)

    def forward(self, x, padding_mask):
        real = (~padding_mask).unsqueeze(-1).float()
        if self.mode == "SummaryMixing-fast":
            both = self.global_proj(x) * real
            local, summary = both.split(self.local_out, dim=-1)
        else:
            summary = self.summary_proj(x) * real
        mean = summary.sum(dim=1) / real.sum(dim=1)
        mean = mean.unsqueeze(1).expand(-1, x.shape[1], -1)
        if self.mode == "SummaryMixing-lite":
            return mean
        if self.mode == "SummaryMixing":
            local = self.local_proj(x) * real
            if self.use_layernorm:
                local = self.local_norm(local)
                mean = self.summary_norm(mean)
        return self.summary_local_merging(torch.cat([local, mean], dim=-1))


def reference_and_ours(mode, d=64, heads=4, hid=None, use_layernorm=True):
    hid = hid or d
    torch.manual_seed(0)
    reference = RefSummaryMixing(d, heads, [hid], d, [hid], d, mode,
                                 use_layernorm).eval()
    layer = nn.Module()  # a layer holding its mixer, as in an encoder
    layer.summary_mixing = SummaryMixing(
        d, heads, local_proj_hid_dim=[hid], local_proj_out_dim=d,
        summary_hid_dim=[hid], summary_out_dim=d, mode=mode,
        use_layernorm=use_layernorm, dropout=0.0,
    )
    theirs = {f"layers.0.mha_layer.{k}": v
              for k, v in reference.state_dict().items()}
    load_summarymixing_checkpoint(
        layer, {k.replace("layers.0.", ""): v for k, v in theirs.items()}
    )
    return reference, layer.summary_mixing.eval()


def used_parameters(reference):
    """The reference's parameters that its mode uses (the authors' idle
    LayerNorms of the lite and fast modes left out)."""
    skip = () if reference.mode == "SummaryMixing" else ("_norm.",)
    return sum(p.numel() for name, p in reference.named_parameters()
               if not any(s in name for s in skip))


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("mode", MODES)
def test_modes_equal_the_authors_definition(mode):
    reference, ours = reference_and_ours(mode)
    lengths = torch.tensor([40, 31, 9])
    mask = torch.arange(40)[None, :] >= lengths[:, None]
    x = torch.randn(3, 40, 64) * 2
    with torch.no_grad():
        expected, got = reference(x, mask), ours(x, src_key_padding_mask=mask)
    real = ~mask
    diff = (expected - got)[real].abs().max().item()
    print(f"\n{mode}: max |ours - authors'| = {diff:.2e} (d 64, 4 heads); "
          f"parameters ours {count(ours):,}, authors' used "
          f"{used_parameters(reference):,} (total {count(reference):,})")
    assert diff < 1e-5
    assert count(ours) == used_parameters(reference)


@pytest.mark.parametrize("mode", MODES)
def test_parameter_counts_at_the_authors_transducer_size(mode):
    """d 512, 4 heads, hidden [512] (their streaming transducer)."""
    with torch.device("meta"):
        reference, ours = reference_and_ours(mode, d=512, heads=4)
    print(f"\n{mode} (d 512, 4 heads, hidden [512]): ours "
          f"{count(ours):,}, authors' {used_parameters(reference):,}")
    assert count(ours) == used_parameters(reference)
    if mode == "SummaryMixing-fast":
        assert count(ours) == 1_050_112


def test_lite_has_no_output_normalisation_by_default():
    lite = SummaryMixing(16, 4, mode="SummaryMixing-lite")
    assert isinstance(lite.summary_norm, nn.Identity)
    assert not any("norm" in name for name, _ in lite.named_parameters())


def test_fast_is_one_dense_projection_split_in_halves():
    fast = SummaryMixing(16, 4, local_proj_hid_dim=[64],
                         local_proj_out_dim=24, mode="SummaryMixing-fast")
    linear, _ = fast.fused_proj
    assert linear.weight.shape == (48, 16)  # nhead and hidden sizes unused
    assert fast.combiner[0].weight.shape == (16, 48)


def test_cgmlp_pads_by_reflection_as_speechbrain():
    torch.manual_seed(0)
    speechbrain_branch = ConvolutionBranch(32, 128, kernel_size=15).eval()
    nn.init.normal_(speechbrain_branch.csgu.conv.conv.weight, std=0.3)
    ours = MaskedConvolutionBranch(32, 128, kernel_size=15).eval()
    ours.load_state_dict(speechbrain_branch.state_dict())
    x = torch.randn(3, 50, 32)
    lengths = [50, 33, 17]
    mask = (torch.arange(50)[None] >= torch.tensor(lengths)[:, None])
    with torch.no_grad():
        diff = (ours(x) - speechbrain_branch(x)).abs().max().item()
        padded = ours(x, mask.unsqueeze(-1))
        per_utterance = max(
            (padded[i, :n] - speechbrain_branch(x[i : i + 1, :n])[0])
            .abs().max().item()
            for i, n in enumerate(lengths)
        )
        zeros = MaskedConvolutionBranch(
            32, 128, kernel_size=15, padding_mode="constant"
        ).eval()
        zeros.load_state_dict(speechbrain_branch.state_dict())
        edge = (zeros(x) - speechbrain_branch(x)).abs().max().item()
    print(f"\ncgMLP reflect vs SpeechBrain: {diff:.1e} (padded batch, per "
          f"utterance: {per_utterance:.1e}); zero padding: {edge:.2f}")
    assert diff < 1e-6 and per_utterance < 1e-5 and edge > 1e-3


# ---- a whole model saved in the authors' key layout ----


def to_authors_layout(state_dict, heads):
    """Our TransformerASR state dict in the authors' names and shapes (the
    inverse of the map under test, written independently); ``heads``: the
    SummaryMixing groups."""
    theirs = {}
    for key, value in state_dict.items():
        key = key.replace(".summary_mixing.", ".mha_layer.")
        key = key.replace(".local_norm.norm.", ".local_norm.")
        key = key.replace(".summary_norm.norm.", ".summary_norm.")
        key = key.replace(".combiner.0.", ".summary_local_merging.linear.w.")
        key = key.replace(".fused_proj.0.", ".global_proj.linear.w.")
        parts = key.split(".")
        for mlp in ("local_proj", "summary_proj", "merge_proj"):
            if mlp in parts:
                i = parts.index(mlp)
                layer = int(parts[i + 1]) // 2
                name = "linear" if layer == 0 else f"linear_{layer - 1}"
                if heads > 1 and mlp != "merge_proj":
                    param = "weights" if parts[-1] == "weight" else "biases"
                    if param == "weights":  # [H*o, i] -> [H, i, o]
                        value = value.unflatten(0, (heads, -1)).transpose(1, 2)
                    else:
                        value = value.unflatten(0, (heads, -1))
                    parts = parts[: i + 1] + [name, param]
                else:
                    parts = parts[: i + 1] + [name, "w", parts[-1]]
                key = ".".join(parts)
        theirs[key] = value
    return theirs


@pytest.mark.parametrize("encoder_module,heads", [
    ("conformer", 4), ("conformer", 1), ("branchformer", 1),
    ("branchformer", 4),
])
def test_load_a_checkpoint_with_the_authors_layout(encoder_module, heads):
    kwargs = dict(
        tgt_vocab=10, input_size=24, d_model=32, nhead=heads,
        num_encoder_layers=2, num_decoder_layers=1, d_ffn=64,
        encoder_module=encoder_module, attention_type="SummaryMixing",
        normalize_before=True, causal=False, csgu_linear_units=64,
        kernel_size=7, local_proj_hid_dim=[48], summary_hid_dim=[48, 32],
    )
    torch.manual_seed(0)
    source = TransformerASR(**kwargs).eval()
    checkpoint = to_authors_layout(source.state_dict(), heads)
    assert any(".mha_layer.summary_local_merging.linear.w." in k
               for k in checkpoint)
    if heads > 1:
        assert any(k.endswith("local_proj.linear_0.weights")
                   for k in checkpoint)
    torch.manual_seed(1)
    target = TransformerASR(**kwargs).eval()
    load_summarymixing_checkpoint(target, checkpoint)
    src, tgt = torch.randn(2, 30, 24), torch.randint(1, 10, (2, 4))
    with torch.no_grad():
        for a, b in zip(target(src, tgt), source(src, tgt)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_load_from_a_file_drops_the_idle_norms(tmp_path):
    reference, _ = reference_and_ours("SummaryMixing-fast", d=16, heads=2)
    path = tmp_path / "model.ckpt"
    torch.save({f"mha_layer.{k}": v
                for k, v in reference.state_dict().items()}, path)
    layer = nn.Module()
    layer.summary_mixing = SummaryMixing(16, 2, mode="SummaryMixing-fast")
    result = load_summarymixing_checkpoint(layer, path)
    assert not result.missing_keys and not result.unexpected_keys
