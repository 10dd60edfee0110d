"""The one model contract (speechbrain_ee.lobes.contract) and early exits
composed with blank skipping (speechbrain_ee.lobes.dynamic_ctc)."""

import pytest
import torch
from speechbrain.nnet.linear import Linear

from speechbrain_ee.decoding.exit_strategies import (
    CONTINUE,
    Confidence,
    ExitStrategy,
    FixedExit,
    simulate,
)
from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.contract import CTCModel, EncoderOutput
from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingConformerEncoder,
)

D, FEATS, VOCAB, LAYERS, K = 16, 12, 7, 6, 2
EXITS = [3, 4, 5, 6]
LENGTHS = [22, 15, 9, 6]


def summary_mixing_asr():
    torch.manual_seed(0)
    stack = SummaryMixingConformerEncoder(
        num_layers=LAYERS, d_model=D, d_ffn=32, nhead=2, kernel_size=3)
    return ASREncoder(stack, input_size=FEATS, d_model=D, positional_encoding="none")


def composed(asr=None, **kwargs):
    torch.manual_seed(1)
    model = DynamicCTCEncoder(asr or summary_mixing_asr(), D, VOCAB, exit_layers=EXITS,
                              skip_layer=K, shared_head=False, **kwargs).eval()
    with torch.no_grad():  # peaky posteriors that differ between heads
        for head in model.ctc_heads:
            head.weight.mul_(6.0)
        model.skip_stage.intermediate_head.linear.weight.mul_(6.0)
    return model


def batch(lengths=LENGTHS, seed=2):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(lengths), max(lengths), FEATS, generator=gen)
    wav_lens = torch.tensor(lengths, dtype=torch.float) / max(lengths)
    return feats, wav_lens


def real(lengths=LENGTHS):
    return torch.arange(max(lengths)) < torch.tensor(lengths).unsqueeze(1)


def median_threshold(model, feats, wav_lens):
    """A skip threshold that skips a third to two thirds of the real frames,
    in the widest gap between two frames' p(blank) (so that rounding
    differences between a batch and one utterance decide no frame)."""
    with torch.no_grad():
        p_blank = model(feats, wav_lens).heads[0][..., 0].exp()
    values = p_blank[real()].sort().values
    n = len(values)
    gaps = values[n // 3 + 1: 2 * n // 3] - values[n // 3: 2 * n // 3 - 1]
    i = n // 3 + int(gaps.argmax())
    return float(values[i] + values[i + 1]) / 2


def mixing_strategy(model, feats, wav_lens, threshold):
    """A confidence strategy whose threshold sends the batch's utterances
    to different heads (what makes the equivalence tests meaningful)."""
    with torch.no_grad():
        heads = model(feats, wav_lens, skip_threshold=threshold).heads
    for value in (0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999):
        strategy = Confidence("max_prob", threshold=value)
        chosen, _ = simulate(strategy, heads, torch.tensor(LENGTHS), model.head_layers)
        if len(set(chosen.tolist())) > 1:
            return strategy
    raise AssertionError("no threshold mixes the exits")


class ByRow(ExitStrategy):
    """Row r stops at head ``plan[r]``."""

    def __init__(self, plan):
        self.plan = plan

    def step(self, state, position, layer, log_probs, lengths, rows):
        return torch.tensor([position if self.plan[r] == position else CONTINUE
                             for r in rows.tolist()])


class FrameCounter:
    """Real frames each layer was given, over all its calls."""

    def __init__(self, layers):
        self.frames = [0] * len(layers)
        for i, layer in enumerate(layers):
            layer.register_forward_pre_hook(self._hook(i), with_kwargs=True)

    def _hook(self, i):
        def hook(module, args, kwargs):
            self.frames[i] += int((~kwargs["src_key_padding_mask"]).sum())
        return hook


def test_exits_and_skipping_off_is_the_plain_summarymixing_conformer_bit_for_bit():
    model = composed()
    plain = CTCModel(model.encoder, Linear(input_size=D, n_neurons=VOCAB)).eval()
    with torch.no_grad():
        plain.ctc_lin.w.weight.copy_(model.ctc_heads[-1].weight)
        plain.ctc_lin.w.bias.copy_(model.ctc_heads[-1].bias)
        feats, wav_lens = batch()
        expected = plain(feats, wav_lens).output
        assert torch.equal(model.forward_full(feats, wav_lens).output, expected)
        assert torch.equal(model(feats, wav_lens).heads[-1], expected)
        fixed = model(feats, wav_lens, exit_strategy=FixedExit(LAYERS)).output
        assert torch.equal(fixed[real()], expected[real()])  # padding: zeros


def test_heads_weights_and_errors():
    model = composed(intermediate_ctc_weight=0.3, exit_loss_scheme="mean")
    assert model.head_layers == [K] + EXITS
    assert model.loss_weights == [0.3] + [0.25] * 4
    with pytest.raises(ValueError, match="every exit must come after layer 2"):
        DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB, exit_layers=[1, 6], skip_layer=K)
    with pytest.raises(ValueError, match="skip_threshold=0.9: this model has no blank-skip"):
        DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB)(*batch(), skip_threshold=0.9)
    single = DynamicCTCEncoder(summary_mixing_asr(), D, VOCAB, exit_layers=[LAYERS])
    with pytest.raises(ValueError, match="no early exits \\(its only CTC head is after layer 6"):
        single(*batch(), exit_strategy=FixedExit(LAYERS))
    plain = CTCModel(summary_mixing_asr(), Linear(input_size=D, n_neurons=VOCAB))
    with pytest.raises(ValueError, match="spike_width=1: this model has no blank-skip"):
        plain(*batch(), spike_width=1)


def test_both_on_a_batch_equals_its_utterances_one_by_one():
    model = composed()
    feats, wav_lens = batch()
    threshold = median_threshold(model, feats, wav_lens)
    strategy = mixing_strategy(model, feats, wav_lens, threshold)
    with torch.no_grad():
        out = model(feats, wav_lens, exit_strategy=strategy, skip_threshold=threshold)
    assert 0 < out.skipped_frames < out.real_frames
    assert len(set(out.exit_layer.tolist())) > 1  # mixed exits
    for row, n in enumerate(LENGTHS):
        with torch.no_grad():
            alone = model(feats[row:row + 1, :n], torch.ones(1), exit_strategy=strategy,
                          skip_threshold=threshold)
        assert alone.exit_layer.tolist() == [int(out.exit_layer[row])]
        assert alone.skipped[0].tolist() == out.skipped[row, :n].tolist()
        torch.testing.assert_close(out.output[row, :n], alone.output[0], atol=1e-5, rtol=1e-4)


def test_online_decisions_equal_the_offline_simulation_with_skipping():
    model = composed()
    feats, wav_lens = batch()
    threshold = median_threshold(model, feats, wav_lens)
    strategy = mixing_strategy(model, feats, wav_lens, threshold)
    with torch.no_grad():
        every = model(feats, wav_lens, skip_threshold=threshold)
        online = model(feats, wav_lens, exit_strategy=strategy, skip_threshold=threshold)
    chosen, stopped = simulate(strategy, every.heads, torch.tensor(LENGTHS), model.head_layers)
    assert online.exit_layer.tolist() == [model.head_layers[c] for c in chosen.tolist()]
    assert online.layers_computed.tolist() == [model.head_layers[s] for s in stopped.tolist()]
    for row, n in enumerate(LENGTHS):
        torch.testing.assert_close(online.output[row, :n], every.heads[chosen[row]][row, :n],
                                   atol=1e-5, rtol=1e-4)


def test_savings_compose_skipped_frames_and_exited_utterances_are_not_computed():
    gen = torch.Generator().manual_seed(5)
    mask = torch.rand(len(LENGTHS), max(LENGTHS), generator=gen) < 0.5

    def rule(log_probs, padding, threshold, spike_width, blank_index):
        return mask[:, : padding.shape[1]] & ~padding

    model = composed(skip_rule=rule)
    counter = FrameCounter(model.layers)
    plan = [0, 1, 3, 4]  # heads: K=2 (skip stage), exits 3, 4, 5, 6
    with torch.no_grad():
        out = model(*batch(), exit_strategy=ByRow(plan), skip_threshold=0.5)
    kept = (real() & ~mask).sum(1)
    stops = [model.head_layers[p] for p in plan]
    assert out.layers_computed.tolist() == stops
    expected = [sum(LENGTHS)] * K + [
        int(sum(kept[r] for r in range(len(LENGTHS)) if stops[r] > layer))
        for layer in range(K, LAYERS)]
    assert counter.frames == expected


def test_training_reaches_every_parameter_and_adds_the_distillation_loss():
    model = composed(kd_weight=0.5).train()
    feats, wav_lens = batch()
    threshold = median_threshold(model, feats, wav_lens)
    out = model(feats, wav_lens, skip_threshold=threshold, spike_width=None)
    assert isinstance(out, EncoderOutput) and float(out.aux_loss.detach()) > 0
    mask = real().unsqueeze(-1)
    loss = sum(w * (lp * mask).sum() for w, lp in zip(out.loss_weights, out.heads))
    (loss + out.aux_loss).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_ctc_model_answers_through_the_contract():
    asr = summary_mixing_asr().eval()
    model = CTCModel(asr, Linear(input_size=D, n_neurons=VOCAB)).eval()
    feats, wav_lens = batch()
    with torch.no_grad():
        out = model(feats, wav_lens)
        state = asr.start_state(feats, wav_lens)
        via_state = model.full_from_state(state)
    assert out.head_layers == [LAYERS] and out.loss_weights == [1.0]
    assert out.padding.tolist() == (~real()).tolist()
    assert out.skipped is None and out.skipped_frames == 0
    assert torch.equal(out.heads[0], out.output)
    torch.testing.assert_close(via_state.output[real()], out.output[real()])
