"""Tests of the SummaryMixing Conformer and Branchformer encoders: SpeechBrain
equivalence of the reused blocks, padding, causality, chunking, streaming,
gradients, the layers/norm API and YAML construction."""

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.lobes.models.transformer.Branchformer import ConvolutionBranch
from speechbrain.lobes.models.transformer.Conformer import ConvolutionModule
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.summary_mixing_encoders import (
    MaskedConvolutionBranch,
    MaskedConvolutionModule,
    SummaryMixingBranchformerEncoder,
    SummaryMixingConformerEncoder,
    SummaryMixingConformerEncoderLayer,
)
from speechbrain_ee.nnet.summary_mixing import MODES

D = 16
LENGTHS = [15, 11, 6]


def conformer(causal=False, mode="SummaryMixing", **kwargs):
    torch.manual_seed(0)
    enc = SummaryMixingConformerEncoder(
        num_layers=2, d_model=D, d_ffn=32, nhead=2, kernel_size=5,
        dropout=0.1, causal=causal, mode=mode, **kwargs,
    )
    return enc.eval()


def branchformer(mode="SummaryMixing"):
    torch.manual_seed(0)
    enc = SummaryMixingBranchformerEncoder(
        num_layers=2, d_model=D, nhead=1, kernel_size=5, dropout=0.1,
        csgu_linear_units=32, mode=mode, summary_hid_dim=[24],
    )
    return enc.eval()


def padded_batch(lengths=LENGTHS, pad_to=19, seed=1):
    """Utterances padded with random junk, and their padding mask."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), pad_to, D, generator=gen) * 3
    mask = torch.arange(pad_to)[None, :] >= torch.tensor(lengths)[:, None]
    return x, mask


def assert_padding_invariant(module, config=None, lengths=LENGTHS):
    x, mask = padded_batch(lengths)
    out = module(x, src_key_padding_mask=mask, dynchunktrain_config=config)[0]
    for i, n in enumerate(lengths):
        alone = module(x[i : i + 1, :n], dynchunktrain_config=config)[0]
        torch.testing.assert_close(out[i, :n], alone[0])


def stream(encoder, x, config, chunk_sizes=None):
    context = encoder.make_streaming_context(config)
    outputs = []
    for chunk in x.split(chunk_sizes or config.chunk_size, dim=1):
        out, attention = encoder.forward_streaming(chunk, context)
        outputs.append(out)
    assert attention == [None] * len(encoder.layers)
    return torch.cat(outputs, dim=1)


# ---- the reused SpeechBrain blocks ----


@pytest.mark.parametrize(
    "causal, config, kernel",
    [
        (False, None, 5),
        (True, None, 5),
        (False, DynChunkTrainConfig(4), 5),
        (False, DynChunkTrainConfig(2), 7),  # left context spans chunks
    ],
)
def test_conv_module_equals_speechbrain(causal, config, kernel):
    torch.manual_seed(0)
    theirs = ConvolutionModule(D, kernel, causal=causal).eval()
    ours = MaskedConvolutionModule(D, kernel, causal=causal).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 13, D)
    torch.testing.assert_close(
        ours(x, dynchunktrain_config=config),
        theirs(x, dynchunktrain_config=config),
    )


@pytest.mark.parametrize("config", [None, DynChunkTrainConfig(4)])
def test_conv_module_padding_does_not_leak(config):
    torch.manual_seed(0)
    module = MaskedConvolutionModule(D, 7).eval()
    x, mask = padded_batch()
    out = module(x, mask.unsqueeze(-1), config)
    for i, n in enumerate(LENGTHS):
        alone = module(x[i : i + 1, :n], dynchunktrain_config=config)
        torch.testing.assert_close(out[i, :n], alone[0])
        assert torch.all(out[i, n:] == 0)


def test_speechbrain_conv_module_alone_would_leak_padding():
    """Why the masked module exists: output masking is not enough."""
    torch.manual_seed(0)
    module = ConvolutionModule(D, 7).eval()
    x, mask = padded_batch()
    n = LENGTHS[1]
    out = module(x[1:2], mask[1:2].unsqueeze(-1))[0, :n]
    assert not torch.allclose(out, module(x[1:2, :n])[0])


def test_conv_branch_equals_speechbrain_without_padding():
    torch.manual_seed(0)
    theirs = ConvolutionBranch(D, 32, kernel_size=5).eval()
    theirs.csgu.conv.padding_mode = "constant"  # ours pads with zeros
    ours = MaskedConvolutionBranch(D, 32, kernel_size=5).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 9, D)
    torch.testing.assert_close(ours(x), theirs(x))


# ---- padding, causality, chunks ----


CONTEXTS = [(False, None), (True, None), (False, DynChunkTrainConfig(4, 1))]


@pytest.mark.parametrize("causal, config", CONTEXTS)
def test_conformer_layer_padding_invariance(causal, config):
    torch.manual_seed(0)
    layer = SummaryMixingConformerEncoderLayer(
        D, 32, 2, kernel_size=5, causal=causal
    )
    assert_padding_invariant(layer.eval(), config)


@pytest.mark.parametrize("causal, config", CONTEXTS)
def test_conformer_padding_invariance(causal, config):
    assert_padding_invariant(conformer(causal), config)


@pytest.mark.parametrize("mode", MODES)
def test_branchformer_padding_invariance(mode):
    assert_padding_invariant(branchformer(mode))


def test_conformer_causal_never_looks_ahead():
    enc = conformer(causal=True)
    x = torch.randn(2, 16, D)
    future = x.clone()
    future[:, 9:] = torch.randn(2, 7, D)
    out, out_future = enc(x)[0], enc(future)[0]
    torch.testing.assert_close(out[:, :9], out_future[:, :9])
    assert not torch.allclose(out[:, 9:], out_future[:, 9:])


@pytest.mark.parametrize("left_context", [None, 0])
def test_conformer_chunk_never_looks_past_its_chunk(left_context):
    enc = conformer()
    config = DynChunkTrainConfig(4, left_context)
    x = torch.randn(1, 16, D)
    out = enc(x, dynchunktrain_config=config)[0]
    for chunk_end in (4, 8, 12):
        future = x.clone()
        future[:, chunk_end:] = torch.randn(1, 16 - chunk_end, D)
        out_future = enc(future, dynchunktrain_config=config)[0]
        seen, unseen = slice(None, chunk_end), slice(chunk_end, None)
        torch.testing.assert_close(out[:, seen], out_future[:, seen])
        assert not torch.allclose(out[:, unseen], out_future[:, unseen])


# ---- streaming ----


@pytest.mark.parametrize(
    "config",
    [
        DynChunkTrainConfig(4, None),
        DynChunkTrainConfig(4, 1),
        DynChunkTrainConfig(3, 0),
        DynChunkTrainConfig(1, 2),  # chunks shorter than the conv context
    ],
)
@pytest.mark.parametrize("mode", ["SummaryMixing", "SummaryMixing-fast"])
def test_conformer_streaming_equals_chunked_pass(config, mode):
    enc = conformer(mode=mode)
    x = torch.randn(2, 17, D)
    full = enc(x, dynchunktrain_config=config)[0]
    streamed = stream(enc, x, config)
    torch.testing.assert_close(streamed, full, rtol=1e-5, atol=1e-5)


def test_causal_conformer_streams_chunks_of_any_length():
    enc = conformer(causal=True)
    x = torch.randn(2, 17, D)
    streamed = stream(enc, x, DynChunkTrainConfig(4), chunk_sizes=[1, 6, 3, 7])
    torch.testing.assert_close(streamed, enc(x)[0], rtol=1e-5, atol=1e-5)


def test_conformer_layer_streaming_equals_chunked_pass():
    torch.manual_seed(0)
    layer = SummaryMixingConformerEncoderLayer(D, 32, 2, kernel_size=7).eval()
    config = DynChunkTrainConfig(3, 1)
    x = torch.randn(1, 11, D)
    context = layer.make_streaming_context(config.left_context_size)
    chunks = [layer.forward_streaming(c, context)[0] for c in x.split(3, 1)]
    streamed = torch.cat(chunks, dim=1)
    full = layer(x, dynchunktrain_config=config)[0]
    torch.testing.assert_close(streamed, full, rtol=1e-5, atol=1e-5)


# ---- API, gradients, construction ----


@pytest.mark.parametrize("make", [conformer, branchformer])
def test_layers_then_norm_equals_forward(make):
    enc = make()
    assert isinstance(enc.layers, torch.nn.ModuleList) and len(enc.layers) == 2
    x, mask = padded_batch()
    out, attention = enc(x, src_key_padding_mask=mask)
    manual = x
    for layer in enc.layers:
        manual, layer_attention = layer(
            manual, src_mask=None, src_key_padding_mask=mask, pos_embs=None,
            dynchunktrain_config=None,
        )
        assert layer_attention is None
    torch.testing.assert_close(enc.norm(manual), out)
    assert attention == [None, None]


def test_hidden_states_and_layerdrop():
    enc = conformer(output_hidden_states=True, layerdrop_prob=1.0)
    out, attention, hidden = enc(torch.randn(1, 5, D))
    assert len(hidden) == 3 and len(attention) == 2  # eval: no layer dropped
    enc.train()
    out, attention, hidden = enc(torch.randn(1, 5, D))
    assert len(hidden) == 1 and attention == []


@pytest.mark.parametrize("make", [conformer, branchformer])
def test_gradients_reach_every_parameter(make):
    enc = make().train()
    x, mask = padded_batch()
    out = enc(x, src_key_padding_mask=mask)[0]
    (out * torch.randn_like(out)).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_rejected_configurations():
    with pytest.raises(ValueError):
        SummaryMixingConformerEncoder(
            1, D, 32, 2, attention_type="RelPosMHAXL"
        )
    with pytest.raises(ValueError):  # lite output must be d_model wide
        SummaryMixingConformerEncoder(
            1, D, 32, 2, mode="SummaryMixing-lite", summary_out_dim=8
        )
    with pytest.raises(ValueError):
        branchformer()(
            torch.randn(1, 8, D), dynchunktrain_config=DynChunkTrainConfig(4)
        )


def test_branchformer_lite_merge_takes_the_summary_width():
    enc = SummaryMixingBranchformerEncoder(
        1, D, 1, kernel_size=3, csgu_linear_units=32,
        mode="SummaryMixing-lite", summary_out_dim=8, summary_hid_dim=[12],
    )
    merge = enc.layers[0].merge_proj
    assert merge[0].in_features == 8 + D and merge[-2].out_features == D
    assert enc(torch.randn(2, 6, D))[0].shape == (2, 6, D)


ENCODERS = "speechbrain_ee.lobes.summary_mixing_encoders"
YAML = f"""
d_model: 16
conformer: !new:{ENCODERS}.SummaryMixingConformerEncoder
    num_layers: 2
    d_model: !ref <d_model>
    d_ffn: 32
    nhead: 2
    kernel_size: 5
    activation: !name:torch.nn.GELU
    attention_type: SummaryMixing
    mode: SummaryMixing
    local_proj_hid_dim: [16]
    local_proj_out_dim: 16
    summary_hid_dim: [16]
    summary_out_dim: 16
branchformer: !new:{ENCODERS}.SummaryMixingBranchformerEncoder
    num_layers: 2
    d_model: !ref <d_model>
    nhead: 1
    kernel_size: 5
    csgu_linear_units: 32
    attention_type: SummaryMixing
    mode: SummaryMixing-lite
    summary_hid_dim: [16]
    summary_out_dim: 16
"""


def test_yaml_construction():
    hparams = load_hyperpyyaml(YAML)
    x = torch.randn(2, 7, D)
    for name in ("conformer", "branchformer"):
        out, _ = hparams[name](x)
        assert out.shape == (2, 7, D)
    mixer = hparams["conformer"].layers[0].summary_mixing
    assert isinstance(mixer.combiner[1], torch.nn.GELU)


def test_works_inside_asr_encoder():
    enc = ASREncoder(
        encoder=conformer(),
        input_size=8,
        d_model=D,
        positional_encoding="none",
    )
    out = enc(torch.rand(3, 12, 8), torch.tensor([1.0, 0.7, 0.4]))
    assert out.shape == (3, 12, D)
