"""CTC blank-triggered layer skipping (speechbrain_ee.lobes.blank_skip, run by
the dynamic CTC encoder with one exit at the last layer) and the factorised
CTC output (speechbrain_ee.nnet.ctc_head)."""

import pytest
import torch
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder

from speechbrain_ee.analysis.timing import measure_speed, speedups
from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.blank_skip import blank_skip_mask, distillation_loss
from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
from speechbrain_ee.lobes.layer_loop import EncoderState, run_layers
from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingConformerEncoder,
)
from speechbrain_ee.nnet.ctc_head import (
    CTCHead,
    FactorizedLogSoftmax,
    factorized_log_softmax,
)

D, FEATS, VOCAB, LAYERS, K = 16, 12, 7, 4, 2
LENGTHS = [20, 14, 9, 5]


def summary_mixing_asr():
    torch.manual_seed(0)
    stack = SummaryMixingConformerEncoder(
        num_layers=LAYERS, d_model=D, d_ffn=32, nhead=2, kernel_size=3)
    return ASREncoder(stack, input_size=FEATS, d_model=D,
                      positional_encoding="none")


def mhsa_asr():
    torch.manual_seed(0)
    stack = ConformerEncoder(num_layers=LAYERS, d_model=D, d_ffn=32, nhead=2,
                             kernel_size=3)
    return ASREncoder(stack, input_size=FEATS, d_model=D)


def blank_skip(asr, **kwargs):
    torch.manual_seed(1)
    return DynamicCTCEncoder(asr, D, VOCAB, exit_layers=[LAYERS], skip_layer=K,
                             **kwargs).eval()


def batch(lengths=LENGTHS, seed=2):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(lengths), max(lengths), FEATS, generator=gen)
    wav_lens = torch.tensor(lengths, dtype=torch.float) / max(lengths)
    return feats, wav_lens


def real(lengths=LENGTHS):
    """``[batch, time]`` True on the real frames."""
    return torch.arange(max(lengths)) < torch.tensor(lengths).unsqueeze(1)


class FrameCounter:
    """Records, per layer call, the sequence length and the real frames the
    layer was given."""

    def __init__(self, layers):
        self.calls = [[] for _ in layers]
        for i, layer in enumerate(layers):
            layer.register_forward_pre_hook(self._hook(i), with_kwargs=True)

    def _hook(self, i):
        def hook(module, args, kwargs):
            x = args[0] if args else kwargs["src"]
            mask = kwargs["src_key_padding_mask"]
            self.calls[i].append((x.shape[1], int((~mask).sum())))
        return hook

    def real_frames(self, i):
        return sum(frames for _, frames in self.calls[i])


def fixed_rule(mask):
    """A skip rule that skips the frames of ``mask`` (tests choose)."""
    def rule(log_probs, padding, threshold, spike_width, blank_index):
        return mask[:, : padding.shape[1]] & ~padding
    return rule


# ------------------------------------------------------------ full model


@pytest.mark.parametrize("make_asr", [mhsa_asr, summary_mixing_asr])
@pytest.mark.parametrize("threshold", [None, 1.0])
def test_threshold_one_is_exactly_the_plain_model(make_asr, threshold):
    asr = make_asr().eval()
    model = blank_skip(asr)
    feats, wav_lens = batch()
    with torch.no_grad():
        plain = torch.log_softmax(
            model.ctc_heads[0](asr(feats, wav_lens)), dim=-1)
        out = model(feats, wav_lens, skip_threshold=threshold, spike_width=1)
        full = model.forward_full(feats, wav_lens)
    assert out.skipped_frames == 0
    assert torch.equal(out.heads[1], plain)
    assert torch.equal(full.output, plain)


def test_threshold_zero_skips_every_frame_after_layer_k():
    model = blank_skip(summary_mixing_asr())
    counter = FrameCounter(model.layers)
    feats, wav_lens = batch()
    with torch.no_grad():
        out = model(feats, wav_lens, skip_threshold=0.0, spike_width=None)
    assert out.skipped_frames == out.real_frames == sum(LENGTHS)
    assert [len(c) for c in counter.calls] == [1] * K + [0] * (LAYERS - K)
    mask = real()
    intermediate, final = out.heads
    assert torch.equal(final[mask], intermediate[mask])


def test_skipped_output_blank():
    model = blank_skip(summary_mixing_asr(), skipped_output="blank")
    feats, wav_lens = batch()
    with torch.no_grad():
        out = model(feats, wav_lens, skip_threshold=0.0, spike_width=None)
    final = out.heads[1][real()]
    assert (final.argmax(-1) == 0).all()
    torch.testing.assert_close(final.exp().sum(-1),
                               torch.ones(sum(LENGTHS)))


# ------------------------------------------------- frames really skipped


@pytest.mark.parametrize("make_asr", [mhsa_asr, summary_mixing_asr])
def test_last_layers_see_only_the_kept_frames(make_asr):
    model = blank_skip(make_asr())
    feats, wav_lens = batch()
    with torch.no_grad():
        p_blank = model(feats, wav_lens).heads[0][..., 0].exp()
    threshold = float(p_blank[real()].median())
    counter = FrameCounter(model.layers)
    with torch.no_grad():
        out = model(feats, wav_lens, skip_threshold=threshold, spike_width=None)
    kept = out.computed
    assert 0 < out.skipped_frames < out.real_frames
    for i in range(K):
        assert counter.calls[i] == [(max(LENGTHS), sum(LENGTHS))]
    for i in range(K, LAYERS):
        # One call on the packed batch: as long as the most kept frames
        # of an utterance, with exactly the kept frames real.
        assert counter.calls[i] == [
            (int(kept.sum(1).max()), int(kept.sum()))]
    assert torch.isfinite(out.heads[1][real()]).all()


def test_mixed_batch_equals_each_utterance_alone():
    """Partly skipped, wholly skipped and unskipped utterances in one
    batch: each gets what it gets alone (SummaryMixing is padding-safe)."""
    gen = torch.Generator().manual_seed(5)
    mask = torch.rand(len(LENGTHS), max(LENGTHS), generator=gen) < 0.5
    mask[1] = True  # every frame skipped: the utterance leaves the batch
    mask[2] = False  # nothing skipped
    asr = summary_mixing_asr().eval()
    model = blank_skip(asr, skip_rule=fixed_rule(mask))
    counter = FrameCounter(model.layers)
    feats, wav_lens = batch()
    with torch.no_grad():
        out = model(feats, wav_lens, skip_threshold=0.5)
    assert out.skipped.tolist() == (mask & real()).tolist()
    # Utterance 1 left the batch: three rows in the last layers.
    assert out.computed[1].sum() == 0
    assert counter.real_frames(LAYERS - 1) == int(out.computed.sum())
    for row, n in enumerate(LENGTHS):
        model.skip_stage.skip_rule = fixed_rule(mask[row:row + 1, :n])
        with torch.no_grad():
            alone = model(feats[row:row + 1, :n], torch.ones(1),
                          skip_threshold=0.5)
        for head in (0, 1):
            torch.testing.assert_close(
                out.heads[head][row, :n], alone.heads[head][0],
                atol=1e-5, rtol=1e-4)


def test_gather_scatter_round_trip_after_layer_k():
    asr = mhsa_asr().eval()
    feats, wav_lens = batch()
    with torch.no_grad():
        state = run_layers(asr.encoder.layers,
                           asr.start_state(feats, wav_lens), 0, K)
    gen = torch.Generator().manual_seed(3)
    keep = torch.rand(state.x.shape[:2], generator=gen) < 0.6
    packed = state.select_frames(keep)
    kept = keep & real()
    assert packed.lengths.tolist() == kept.sum(1).tolist()
    for row in range(len(LENGTHS)):
        n = int(kept[row].sum())
        assert torch.equal(packed.x[row, :n], state.x[row][kept[row]])
        assert (packed.x[row, n:] == 0).all()
    # Relative positions of the packed length.
    assert packed.pos_embs.shape[1] == 2 * packed.x.shape[1] - 1
    template = torch.full_like(state.x, -7.0)
    back = packed.scatter_frames(packed.x, template)
    assert torch.equal(back[kept], state.x[kept])
    assert (back[~kept] == -7.0).all()


def test_training_with_skipping_reaches_every_parameter():
    model = blank_skip(summary_mixing_asr()).train()
    feats, wav_lens = batch()
    with torch.no_grad():
        p_blank = model(feats, wav_lens).heads[0][..., 0].exp()
    threshold = float(p_blank[real()].median())
    out = model(feats, wav_lens, skip_threshold=threshold, spike_width=None)
    assert 0 < out.skipped_frames < out.real_frames
    mask = real().unsqueeze(-1)
    loss = sum((lp * mask).sum() for lp in out.heads)
    loss = loss + distillation_loss(*out.heads, out.computed)
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_mhsa_relative_positions_with_skipping():
    model = blank_skip(mhsa_asr())
    feats, wav_lens = batch()
    with torch.no_grad():
        out = model(feats, wav_lens, skip_threshold=0.5, spike_width=1)
    assert torch.isfinite(out.heads[1][real()]).all()


# --------------------------------------------------------- the skip rule


def test_spike_extension():
    p_blank = torch.tensor([[0.99, 0.99, 0.99, 0.1, 0.99, 0.99, 0.99, 0.99]])
    log_probs = torch.stack([p_blank, 1 - p_blank], -1).log()
    padding = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 1]], dtype=torch.bool)

    def skip(threshold, width):
        return blank_skip_mask(log_probs, padding, threshold,
                               width).int().tolist()[0]

    assert skip(0.9, None) == [1, 1, 1, 0, 1, 1, 1, 0]
    assert skip(0.9, 0) == [1, 1, 1, 0, 1, 1, 1, 0]
    assert skip(0.9, 1) == [1, 1, 0, 0, 0, 1, 1, 0]
    assert skip(0.9, 2) == [1, 0, 0, 0, 0, 0, 1, 0]
    # Below 0.5 a spike frame is above the threshold: w = 0 keeps it.
    assert skip(0.05, None) == [1, 1, 1, 1, 1, 1, 1, 0]
    assert skip(0.05, 0) == [1, 1, 1, 0, 1, 1, 1, 0]
    assert skip(1.0, None) == [0] * 8


def test_skip_rule_rejects_bad_settings():
    log_probs = torch.zeros(1, 3, 2).log_softmax(-1)
    padding = torch.zeros(1, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="threshold=1.5"):
        blank_skip_mask(log_probs, padding, 1.5)
    with pytest.raises(ValueError, match="spike_width=-1"):
        blank_skip_mask(log_probs, padding, 0.9, -1)


def test_rejects_bad_model_settings():
    with pytest.raises(ValueError, match="skip_layer=4"):
        DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB, skip_layer=LAYERS)
    with pytest.raises(ValueError, match="skipped_output='zeros'"):
        DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB, skip_layer=K,
                          skipped_output="zeros")
    with pytest.raises(ValueError, match="output_neurons"):
        CTCHead(D, 1, factorized=True)


# ------------------------------------------------- factorised CTC output


@pytest.mark.parametrize("blank_index", [0, 3, -1])
def test_factorized_output_is_a_distribution(blank_index):
    logits = torch.randn(2, 5, 6) * 4
    log_probs = factorized_log_softmax(logits, blank_index)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(log_probs[..., blank_index].exp(),
                               torch.sigmoid(logits[..., blank_index]))
    # The non-blank tokens share 1 - p(blank) as their softmax says.
    tokens = [v for v in range(6) if v != blank_index % 6]
    no_blank = torch.nn.functional.logsigmoid(-logits[..., [blank_index]])
    torch.testing.assert_close(log_probs[..., tokens] - no_blank,
                               torch.log_softmax(logits[..., tokens], -1))


@pytest.mark.parametrize("blank_index", [0, 4])
def test_factorized_output_reduces_to_the_softmax(blank_index):
    """With blank logit z_b - logsumexp(z_tokens), the factorisation is the
    plain softmax."""
    logits = torch.randn(3, 4, 6) * 3
    tokens = [v for v in range(6) if v != blank_index]
    shifted = logits.clone()
    shifted[..., blank_index] = logits[..., blank_index] - torch.logsumexp(
        logits[..., tokens], -1)
    torch.testing.assert_close(factorized_log_softmax(shifted, blank_index),
                               torch.log_softmax(logits, -1))
    torch.testing.assert_close(FactorizedLogSoftmax(blank_index)(shifted),
                               torch.log_softmax(logits, -1))


def test_plain_head_is_the_softmax_and_factorized_head_is_not():
    torch.manual_seed(0)
    hidden = torch.randn(2, 3, D)
    plain = CTCHead(D, VOCAB, factorized=False)
    factorized = CTCHead(D, VOCAB, factorized=True)
    factorized.load_state_dict(plain.state_dict())  # same parameters
    torch.testing.assert_close(plain(hidden),
                               torch.log_softmax(plain.linear(hidden), -1))
    assert not torch.allclose(plain(hidden), factorized(hidden))
    torch.testing.assert_close(factorized(hidden).exp().sum(-1),
                               torch.ones(2, 3))


def test_factorized_output_gradients_are_finite():
    logits = (torch.randn(2, 4, 5) * 30).requires_grad_()
    factorized_log_softmax(logits).sum().backward()
    assert torch.isfinite(logits.grad).all()


# --------------------------------------------------------- distillation


def test_distillation_teaches_the_intermediate_head_only():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(2, 4, 5, generator=gen).requires_grad_()
    teacher = torch.randn(2, 4, 5, generator=gen).requires_grad_()
    mask = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    loss = distillation_loss(student.log_softmax(-1), teacher.log_softmax(-1),
                             mask)
    loss.backward()
    assert teacher.grad is None
    assert (student.grad[~mask] == 0).all()
    assert student.grad[mask].abs().sum() > 0
    expected = torch.nn.functional.kl_div(
        student.log_softmax(-1)[mask], teacher.log_softmax(-1)[mask],
        log_target=True, reduction="sum") / mask.sum()
    torch.testing.assert_close(loss, expected)
    empty = distillation_loss(student.log_softmax(-1),
                              teacher.log_softmax(-1),
                              torch.zeros_like(mask))
    assert float(empty.detach()) == 0.0


def test_exit_layers_and_state_entry_point():
    model = blank_skip(summary_mixing_asr())
    assert model.head_layers == [K, LAYERS]
    feats, wav_lens = batch()
    with torch.no_grad():
        state = run_layers(model.layers,
                           model.encoder.start_state(feats, wav_lens), 0, K)
    assert isinstance(state, EncoderState)
    with pytest.raises(ValueError, match="every exit must come after layer 2"):
        DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB, exit_layers=[K, LAYERS],
                          skip_layer=K)


@pytest.mark.parametrize("make_asr", [mhsa_asr, summary_mixing_asr])
def test_from_state_entry_points_equal_the_whole_model(make_asr):
    """The timed encoder-only cases compute what the whole model does."""
    model = blank_skip(make_asr())
    feats, wav_lens = batch()
    with torch.no_grad():
        state = model.encoder.start_state(feats, wav_lens)
        assert torch.equal(model.full_from_state(state).output,
                           model.forward_full(feats, wav_lens).output)
        skipped = model.from_state(state, skip_threshold=0.5, spike_width=1)
        direct = model(feats, wav_lens, skip_threshold=0.5, spike_width=1)
        # the state is not consumed
        again = model.from_state(state, skip_threshold=0.5, spike_width=1)
    for a, b, c in zip(skipped.heads, direct.heads, again.heads):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_speed_measurement_times_the_encoder_from_the_front_end_output():
    model = blank_skip(summary_mixing_asr())
    rounds = measure_speed(model, [batch()], {"t0.5": model.inference_variant(skip_threshold=0.5, spike_width=1)},
                           repeats=3)
    assert set(rounds) == {"full", "t0.5", "front_end", "encoder:full", "encoder:t0.5"}
    assert all(len(r) == 3 for r in rounds.values())
    speed = speedups(rounds, "t0.5")
    ratios = sorted(a / b for a, b in zip(rounds["encoder:full"], rounds["encoder:t0.5"]))
    assert speed["encoder_speedup"] == pytest.approx(ratios[1])  # the median round
    assert (speed["encoder_speedup_min"], speed["encoder_speedup_max"]) == (
        pytest.approx(ratios[0]), pytest.approx(ratios[2]))
