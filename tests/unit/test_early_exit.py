"""Early exits of the dynamic CTC encoder (speechbrain_ee.lobes.dynamic_ctc,
no skip stage) and the layer loop it runs on (speechbrain_ee.lobes.layer_loop)."""

import pytest
import torch
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder

from speechbrain_ee.decoding.exit_strategies import (
    CONTINUE,
    Confidence,
    ExitStrategy,
    FixedExit,
    Patience,
    SequenceConfidence,
    TokenConfidence,
    simulate,
)
from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
from speechbrain_ee.lobes.early_exit import exit_loss_weights
from speechbrain_ee.lobes.layer_loop import EncoderState, run_layers
from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingConformerEncoder,
)

D, FEATS, VOCAB, LAYERS = 16, 12, 7, 4
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


def early_exit(asr, exit_layers=(1, 2, 3, 4), **kwargs):
    torch.manual_seed(1)
    model = DynamicCTCEncoder(asr, D, VOCAB, exit_layers=list(exit_layers),
                              **kwargs).eval()
    with torch.no_grad():  # peaky posteriors that differ between exits
        for head in model.ctc_heads:
            head.weight.mul_(6.0)
    return model


def batch(lengths=LENGTHS, seed=2):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(len(lengths), max(lengths), FEATS, generator=gen)
    wav_lens = torch.tensor(lengths, dtype=torch.float) / max(lengths)
    return feats, wav_lens


@pytest.mark.parametrize("make_asr", [mhsa_asr, summary_mixing_asr])
def test_exit_at_last_layer_equals_plain_encoder(make_asr):
    asr = make_asr().eval()
    model = early_exit(asr, exit_layers=[LAYERS])
    feats, wav_lens = batch()
    plain = torch.log_softmax(model.ctc_heads[0](asr(feats, wav_lens)), -1)
    torch.testing.assert_close(model(feats, wav_lens).heads[-1], plain)
    # The last exit's norm is the stack's own final norm.
    assert model.exit_norms[-1] is asr.encoder.norm


class CallCounter:
    """Counts forward calls of every layer of a stack."""

    def __init__(self, layers):
        self.calls = [0] * len(layers)
        for i, layer in enumerate(layers):
            layer.register_forward_hook(self._hook(i))

    def _hook(self, i):
        def hook(module, args, output):
            self.calls[i] += 1
        return hook


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_stopping_at_layer_k_computes_exactly_k_layers(k):
    model = early_exit(summary_mixing_asr())
    counter = CallCounter(model.layers)
    out = model(*batch(), exit_strategy=FixedExit(layer=k))
    assert counter.calls == [1] * k + [0] * (LAYERS - k)
    assert out.layers_computed.tolist() == [k] * len(LENGTHS)
    assert out.exit_layer.tolist() == [k] * len(LENGTHS)


class ByRow(ExitStrategy):
    """Test strategy: row r stops at exit ``plan[r]``."""

    def __init__(self, plan):
        self.plan = plan

    def step(self, state, position, layer, log_probs, lengths, rows):
        return torch.tensor([
            position if self.plan[r] == position else CONTINUE
            for r in rows.tolist()
        ])


def test_mixed_exits_leave_the_batch_and_equal_one_by_one():
    model = early_exit(summary_mixing_asr())
    feats, wav_lens = batch()
    plan = [3, 0, 2, 1]
    counter = CallCounter(model.layers)
    out = model(feats, wav_lens, exit_strategy=ByRow(plan))
    # Layer i runs only for the utterances still in the batch: one call
    # each, never for an empty batch.
    assert counter.calls == [1, 1, 1, 1]
    assert out.layers_computed.tolist() == [4, 1, 3, 2]
    for row, n in enumerate(LENGTHS):
        alone = model(feats[row:row + 1, :n], torch.ones(1),
                      exit_strategy=ByRow([plan[row]]))
        torch.testing.assert_close(out.output[row, :n], alone.output[0],
                                   atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("strategy", [
    Confidence("max_prob", threshold=0.7),
    Confidence("entropy", threshold=0.105),
    Patience(patience=1, threshold=0.5, distance="cer"),
    Patience(patience=2, threshold=0.3, distance="bce"),
    TokenConfidence(threshold=0.7),
    SequenceConfidence(threshold=0.7, form="greedy"),
])
def test_online_inference_equals_offline_simulation(strategy):
    model = early_exit(summary_mixing_asr())
    feats, wav_lens = batch()
    with torch.no_grad():
        all_exits = model(feats, wav_lens).heads
    lengths = torch.tensor(LENGTHS)
    chosen, stopped = simulate(strategy, all_exits, lengths,
                               model.exit_layers)
    out = model(feats, wav_lens, exit_strategy=strategy)
    assert out.exit_layer.tolist() == [model.exit_layers[c] for c in chosen.tolist()]
    assert out.layers_computed.tolist() == [
        model.exit_layers[s] for s in stopped.tolist()]
    for row, n in enumerate(LENGTHS):
        torch.testing.assert_close(out.output[row, :n],
                                   all_exits[chosen[row]][row, :n],
                                   atol=1e-5, rtol=1e-4)


def test_strategies_in_the_test_pick_mixed_exits():
    """The online/offline test above is only meaningful with mixed exits."""
    model = early_exit(summary_mixing_asr())
    feats, wav_lens = batch()
    with torch.no_grad():
        all_exits = model(feats, wav_lens).heads
    chosen, _ = simulate(Confidence("max_prob", threshold=0.7), all_exits,
                         torch.tensor(LENGTHS),
                         model.exit_layers)
    assert len(set(chosen.tolist())) > 1


def test_per_exit_heads_and_adapters():
    adapter = lambda d: torch.nn.Sequential(torch.nn.Linear(d, d))  # noqa
    model = early_exit(summary_mixing_asr(), exit_layers=[2, 4],
                       shared_head=False, adapter=adapter)
    assert len(model.ctc_heads) == 2 and len(model.adapters) == 2
    outs = model(*batch()).heads
    assert [o.shape for o in outs] == [torch.Size([4, 20, VOCAB])] * 2
    torch.testing.assert_close(outs[0].exp().sum(-1),
                               torch.ones(4, 20))


def test_every_exit_gets_gradients():
    model = early_exit(summary_mixing_asr(), exit_layers=[1, 3],
                       shared_head=False).train()
    loss = sum(o.sum() for o in model(*batch()).heads)
    loss.backward()
    for name, param in model.named_parameters():
        if name.startswith(("encoder.encoder.layers.3",
                            "encoder.encoder.norm")):
            continue  # after the last exit
        assert param.grad is not None, name


def test_rejects_bad_exit_layers():
    with pytest.raises(ValueError, match="exit_layers=\\[3, 2\\]"):
        early_exit(summary_mixing_asr(), exit_layers=[3, 2])
    with pytest.raises(ValueError, match="between 1 and 4"):
        early_exit(summary_mixing_asr(), exit_layers=[2, 5])


def test_rejects_a_stack_without_layers():
    class Opaque(torch.nn.Module):
        def forward(self, x, **kwargs):
            return x

    asr = ASREncoder(Opaque(), input_size=FEATS, d_model=D,
                     positional_encoding="none")
    with pytest.raises(TypeError, match="ASREncoder around Opaque has no `start_state`/`layers`/`norm`"):
        early_exit(asr)


def test_exit_loss_weights():
    assert exit_loss_weights("sum", [1, 2]) == [1.0, 1.0]
    assert exit_loss_weights("mean", [1, 2]) == [0.5, 0.5]
    assert exit_loss_weights([0.2, 0.8], [1, 2]) == [0.2, 0.8]
    with pytest.raises(ValueError, match="3 weights for 2 exits"):
        exit_loss_weights([1, 1, 1], [1, 2])
    with pytest.raises(ValueError, match="'bogus'"):
        exit_loss_weights("bogus", [1, 2])


def test_layer_loop_select_rows_keeps_relative_positions():
    asr = mhsa_asr().eval()
    feats, wav_lens = batch()
    state = asr.start_state(feats, wav_lens)
    full = run_layers(asr.encoder.layers, state, 0, LAYERS)
    # The two shortest rows alone (padding trimmed): the relative position
    # embeddings are cut to the shorter length.
    part = state.select_rows(torch.tensor([False, False, True, True]))
    assert part.x.shape[1] == LENGTHS[2]
    fresh = asr.pos_enc(part.x)
    torch.testing.assert_close(part.pos_embs, fresh)
    out = run_layers(asr.encoder.layers, part, 0, LAYERS)
    assert out.rows.tolist() == [2, 3]
    assert out.x.shape == (2, LENGTHS[2], D)
    assert torch.isfinite(full.x).all()


def test_layer_loop_frame_selection_round_trip():
    x = torch.arange(2 * 5, dtype=torch.float).view(2, 5, 1)
    mask = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.bool)
    state = EncoderState.start(x, mask)
    keep = torch.tensor([[1, 0, 1, 1, 0], [0, 1, 1, 1, 1]], dtype=torch.bool)
    packed = state.select_frames(keep)
    assert packed.lengths.tolist() == [3, 2]
    assert packed.frames.tolist() == [[0, 2, 3], [1, 2, 0]]
    template = torch.full((2, 5, 1), -1.0)
    back = packed.scatter_frames(packed.x * 10, template)
    assert back[..., 0].tolist() == [
        [0.0, -1.0, 20.0, 30.0, -1.0],
        [-1.0, 60.0, 70.0, -1.0, -1.0],
    ]
    # Rows dropped after frames were: the bookkeeping follows.
    second = packed.select_rows(torch.tensor([False, True]))
    assert second.frames.tolist() == [[1, 2]]


@pytest.mark.parametrize("make_asr", [mhsa_asr, summary_mixing_asr])
def test_from_state_entry_points_equal_the_whole_model(make_asr):
    """The timed encoder-only cases compute what the whole model does."""
    model = early_exit(make_asr())
    feats, wav_lens = batch()
    strategy = Confidence("max_prob", threshold=0.7)
    with torch.no_grad():
        state = model.encoder.start_state(feats, wav_lens)
        assert torch.equal(model.full_from_state(state).output,
                           model.forward_full(feats, wav_lens).output)
        via_state = model.from_state(state, strategy)
        direct = model(feats, wav_lens, exit_strategy=strategy)
    assert torch.equal(via_state.output, direct.output)
    assert torch.equal(via_state.layers_computed, direct.layers_computed)
