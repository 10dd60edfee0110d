"""Tests of SummaryMixing: reference equality, masks, causality, chunks,
streaming, gradients and modes."""

import pytest
import torch
import torch.nn.functional as F
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.nnet.summary_mixing import (
    MODES,
    GroupedLinear,
    SummaryMixing,
)

D, NHEAD = 16, 4
LENGTHS = [13, 9, 4]
CHUNK_CONFIGS = [
    DynChunkTrainConfig(4, None),
    DynChunkTrainConfig(4, 0),
    DynChunkTrainConfig(3, 2),
]


def make_mixer(mode="SummaryMixing", causal=False, **kwargs):
    torch.manual_seed(0)
    sizes = dict(
        local_proj_hid_dim=[24],
        local_proj_out_dim=20,
        summary_hid_dim=[12],
        summary_out_dim=8,
    )
    sizes.update(kwargs)
    mixer = SummaryMixing(D, NHEAD, mode=mode, causal=causal, **sizes)
    for p in mixer.parameters():  # non-zero biases make the tests sharper
        torch.nn.init.normal_(p, std=0.3)
    return mixer.eval()


def padding_mask(lengths, max_len=None):
    max_len = max_len or max(lengths)
    return torch.arange(max_len)[None, :] >= torch.tensor(lengths)[:, None]


def padded_batch(lengths, pad_to=None, seed=1):
    """Utterances padded with random junk (not zeros)."""
    gen = torch.Generator().manual_seed(seed)
    max_len = pad_to or max(lengths)
    x = torch.randn(len(lengths), max_len, D, generator=gen) * 3
    utterances = [x[i, :n].clone() for i, n in enumerate(lengths)]
    return x, utterances, padding_mask(lengths, max_len)


# ---- reference: explicit loops over heads, frames and visible frames ----


def grouped_mlp_reference(mlp, x):
    """Each GroupedLinear as one matrix product per head, then activation."""
    for linear, activation in zip(mlp[0::2], mlp[1::2]):
        groups = linear.groups
        in_g = linear.weight.shape[1]
        out_g = linear.weight.shape[0] // groups
        heads = []
        for g in range(groups):
            w = linear.weight[g * out_g : (g + 1) * out_g]
            b = linear.bias[g * out_g : (g + 1) * out_g]
            heads.append(x[:, g * in_g : (g + 1) * in_g] @ w.T + b)
        x = activation(torch.cat(heads, dim=-1))
    return x


def fused_reference(mixer, x):
    """The authors' fast mode: one dense linear + activation, then the first
    half of the features is local and the second half summary."""
    linear, activation = mixer.fused_proj
    fused = activation(x @ linear.weight.T + linear.bias)
    half = fused.shape[-1] // 2
    return fused[:, :half], fused[:, half:]


def visible_frames(t, length, causal=False, config=None):
    if causal:
        return range(t + 1)
    if config is None:
        return range(length)
    chunk = t // config.chunk_size
    start = 0
    if config.left_context_size is not None:
        start = max(0, (chunk - config.left_context_size) * config.chunk_size)
    return range(start, min(length, (chunk + 1) * config.chunk_size))


def reference_mixing(mixer, x, causal=False, config=None):
    """SummaryMixing of one unpadded utterance x [T, D], frame by frame."""
    if mixer.mode == "SummaryMixing-fast":
        local, summary = fused_reference(mixer, x)
    else:
        summary = grouped_mlp_reference(mixer.summary_proj, x)
        local = None
        if mixer.mode == "SummaryMixing":
            local = grouped_mlp_reference(mixer.local_proj, x)
    outputs = []
    for t in range(x.shape[0]):
        frames = visible_frames(t, x.shape[0], causal, config)
        mean = torch.stack([summary[j] for j in frames]).mean(dim=0)
        mean = mixer.summary_norm(mean[None])[0]
        if local is None:
            outputs.append(mean)
            continue
        both = torch.cat([mixer.local_norm(local[t][None])[0], mean])
        linear, activation = mixer.combiner
        outputs.append(activation(both @ linear.weight.T + linear.bias))
    return torch.stack(outputs)


# ---- tests ----


def test_grouped_linear_is_block_diagonal():
    torch.manual_seed(0)
    layer = GroupedLinear(12, 8, groups=4)
    torch.nn.init.normal_(layer.bias)
    blocks = layer.weight.unflatten(0, (4, -1))
    dense = torch.block_diag(*blocks)
    x = torch.randn(2, 5, 12)
    torch.testing.assert_close(layer(x), F.linear(x, dense, layer.bias))


def test_grouped_linear_with_one_group_is_linear():
    layer = GroupedLinear(6, 5)
    assert layer.weight.shape == (5, 6)
    x = torch.randn(3, 6)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))


def test_grouped_linear_rejects_indivisible_sizes():
    with pytest.raises(ValueError):
        GroupedLinear(10, 8, groups=4)


@pytest.mark.parametrize("mode", MODES)
def test_biases_start_at_zero(mode):
    mixer = SummaryMixing(D, NHEAD, mode=mode)
    biases = {
        name: p
        for name, p in mixer.named_parameters()
        if name.endswith("bias") and "norm" not in name
    }
    assert biases
    for name, p in biases.items():
        assert torch.all(p == 0), name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "causal, config",
    [(False, None), (True, None)] + [(False, c) for c in CHUNK_CONFIGS],
)
def test_equals_reference_on_padded_batch(mode, causal, config):
    mixer = make_mixer(mode, causal)
    x, utterances, mask = padded_batch(LENGTHS)
    out = mixer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    for i, utt in enumerate(utterances):
        expected = reference_mixing(mixer, utt, causal, config)
        torch.testing.assert_close(out[i, : len(utt)], expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "causal, config", [(False, None), (True, None), (False, CHUNK_CONFIGS[2])]
)
def test_padding_does_not_change_real_frames(mode, causal, config):
    mixer = make_mixer(mode, causal)
    x, utterances, mask = padded_batch(LENGTHS, pad_to=17)
    out = mixer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    for i, utt in enumerate(utterances):
        alone = mixer(utt[None], dynchunktrain_config=config)[0]
        torch.testing.assert_close(out[i, : len(utt)], alone)


@pytest.mark.parametrize("mode", MODES)
def test_causal_never_looks_ahead(mode):
    mixer = make_mixer(mode, causal=True)
    x = torch.randn(2, 12, D)
    future = x.clone()
    future[:, 7:] = torch.randn(2, 5, D)
    out, out_future = mixer(x), mixer(future)
    torch.testing.assert_close(out[:, :7], out_future[:, :7])
    assert not torch.allclose(out[:, 7:], out_future[:, 7:])


@pytest.mark.parametrize("mode", ["SummaryMixing", "SummaryMixing-lite"])
@pytest.mark.parametrize("config", CHUNK_CONFIGS)
def test_chunk_frame_depends_only_on_its_visible_range(mode, config):
    mixer = make_mixer(mode)
    length = 14
    x = torch.randn(1, length, D)
    out = mixer(x, dynchunktrain_config=config)
    for j in range(length):
        changed = x.clone()
        changed[0, j] += torch.randn(D)
        diff = (mixer(changed, dynchunktrain_config=config) - out).abs()
        moved = (diff.amax(dim=-1)[0] > 1e-6).tolist()
        expected = [
            j in visible_frames(t, length, config=config)
            for t in range(length)
        ]
        assert moved == expected, f"frame {j} changed {moved}"


def stream(mixer, x, chunk_sizes, context, mask=None):
    outputs, start = [], 0
    for size in chunk_sizes:
        chunk_mask = None if mask is None else mask[:, start : start + size]
        chunk = x[:, start : start + size]
        outputs.append(mixer.forward_streaming(chunk, context, chunk_mask))
        start += size
    return torch.cat(outputs, dim=1)


def chunk_lengths(total, chunk_size):
    return [min(chunk_size, total - s) for s in range(0, total, chunk_size)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("config", CHUNK_CONFIGS)
def test_streaming_equals_chunked_full_pass(mode, config):
    mixer = make_mixer(mode)
    x, _, mask = padded_batch(LENGTHS, pad_to=15)
    full = mixer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    context = mixer.make_streaming_context(config.left_context_size)
    sizes = chunk_lengths(15, config.chunk_size)
    streamed = stream(mixer, x, sizes, context, mask)
    torch.testing.assert_close(streamed, full, rtol=1e-5, atol=1e-5)


def test_streaming_memory_is_bounded():
    mixer = make_mixer()
    config = DynChunkTrainConfig(2, 3)
    context = mixer.make_streaming_context(config.left_context_size)
    stream(mixer, torch.randn(1, 40, D), [2] * 20, context)
    assert len(context.past_chunks) == 3
    assert context.sum_and_count is None


@pytest.mark.parametrize("mode", MODES)
def test_causal_streaming_equals_causal_pass_for_any_chunks(mode):
    mixer = make_mixer(mode, causal=True)
    x = torch.randn(2, 17, D)
    context = mixer.make_streaming_context()
    streamed = stream(mixer, x, [1, 5, 2, 9], context)
    torch.testing.assert_close(streamed, mixer(x), rtol=1e-5, atol=1e-5)
    assert context.sum_and_count[:, -1].tolist() == [17.0, 17.0]


@pytest.mark.parametrize("mode", MODES)
def test_gradients_reach_every_parameter(mode):
    mixer = make_mixer(mode).train()
    x, _, mask = padded_batch(LENGTHS)
    out = mixer(x, src_key_padding_mask=mask)
    (out * torch.randn_like(out)).sum().backward()
    for name, p in mixer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_mode_output_sizes():
    x = torch.randn(2, 7, D)
    full = SummaryMixing(D, NHEAD, summary_out_dim=8, output_dim=12)
    lite = SummaryMixing(
        D, NHEAD, summary_out_dim=8, mode="SummaryMixing-lite"
    )
    fast = SummaryMixing(
        D, NHEAD, local_proj_out_dim=20, mode="SummaryMixing-fast"
    )
    assert full(x).shape == (2, 7, 12) and full.output_size == 12
    assert lite(x).shape == (2, 7, 8) and lite.output_size == 8
    assert fast(x).shape == (2, 7, D) and fast.output_size == D
    assert not hasattr(lite, "combiner")
    assert fast.fused_proj[-2].weight.shape[0] == 40  # 2 * local_proj_out_dim
    assert isinstance(fast.local_norm, torch.nn.Identity)


def test_lite_output_is_the_same_for_every_frame():
    mixer = make_mixer("SummaryMixing-lite")
    out = mixer(torch.randn(1, 6, D))
    torch.testing.assert_close(out, out[:, :1].expand_as(out))


def test_without_layernorm():
    mixer = SummaryMixing(D, NHEAD, use_layernorm=False)
    assert isinstance(mixer.summary_norm, torch.nn.Identity)
    assert mixer(torch.randn(2, 5, D)).shape == (2, 5, D)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        SummaryMixing(D, NHEAD, mode="SummaryMixing-expdecay")
    with pytest.raises(ValueError):
        SummaryMixing(D, 3)
    causal = SummaryMixing(D, NHEAD, causal=True)
    with pytest.raises(ValueError):
        causal(torch.randn(1, 4, D), dynchunktrain_config=CHUNK_CONFIGS[0])
    with pytest.raises(ValueError):
        causal.make_streaming_context(left_context_size=2)


def test_warns_when_a_src_mask_would_be_ignored():
    mixer = SummaryMixing(D, NHEAD)
    src_mask = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    with pytest.warns(UserWarning):
        mixer(torch.randn(1, 4, D), src_mask=src_mask)


def test_keeps_the_input_dtype():
    mixer = make_mixer().double()
    x = torch.randn(2, 6, D, dtype=torch.float64)
    assert mixer(x).dtype == torch.float64
    context = mixer.make_streaming_context()
    assert mixer.forward_streaming(x, context).dtype == torch.float64


def test_mlps_without_hidden_layers():
    mixer = SummaryMixing(D, NHEAD, local_proj_hid_dim=[], summary_hid_dim=[])
    assert len(mixer.local_proj) == 2 and len(mixer.summary_proj) == 2
    assert mixer(torch.randn(2, 5, D)).shape == (2, 5, D)
