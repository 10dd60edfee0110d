"""Exit strategies on hand-made posteriors, the oracle bound and the
overthinking statistic (speechbrain_ee.decoding.exit_strategies)."""

import itertools
import math

import numpy as np
import pytest
import torch

from speechbrain_ee.decoding.exit_strategies import (
    CONTINUE,
    STRATEGIES,
    Confidence,
    FixedExit,
    Patience,
    SequenceConfidence,
    TokenConfidence,
    build_strategy,
    confidence_score,
    oracle_curve,
    oracle_exits,
    overthinking,
    simulate,
)


def posteriors(*frames):
    """[1, T, V] log-probabilities from rows of probabilities."""
    return torch.tensor([frames], dtype=torch.float).log()


def one_hot_path(labels, vocab=4, peak=0.97):
    """[1, T, V] posteriors peaked on ``labels``."""
    rest = (1 - peak) / (vocab - 1)
    probs = torch.full((len(labels), vocab), rest)
    probs[torch.arange(len(labels)), torch.tensor(labels)] = peak
    return probs.log().unsqueeze(0)


ONE = torch.arange(1)


def run_steps(strategy, exits, lengths=None):
    """The step results of one utterance through ``exits`` (no stopping)."""
    state = strategy.init_state(1)
    lengths = torch.tensor([exits[0].shape[1]]) if lengths is None else lengths
    return [
        strategy.step(state, i, i + 1, lp, lengths, ONE).item()
        for i, lp in enumerate(exits)
    ]


def test_registry_builds_every_strategy_by_name():
    assert set(STRATEGIES) == {
        "fixed", "confidence", "sequence_confidence", "patience",
        "token_confidence",
    }
    assert isinstance(build_strategy("fixed", layer=3), FixedExit)
    with pytest.raises(ValueError, match="Unknown exit strategy 'nope'"):
        build_strategy("nope")
    with pytest.raises(ValueError, match="measure='bogus'"):
        Confidence(measure="bogus")


def test_confidence_measures_match_hand_calculation():
    lp = posteriors([0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3])
    # Only the first two frames are real.
    lengths = torch.tensor([2])
    assert confidence_score(lp, lengths, "max_prob").item() == pytest.approx(
        0.6
    )
    assert confidence_score(lp, lengths, "margin").item() == pytest.approx(
        (0.3 + 0.4) / 2
    )
    h1 = -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1))
    h2 = -(2 * 0.2 * math.log(0.2) + 0.6 * math.log(0.6))
    assert confidence_score(lp, lengths, "entropy").item() == pytest.approx(
        (h1 + h2) / (2 * 3), rel=1e-5
    )


def test_confidence_stops_at_first_confident_exit():
    unsure = posteriors([0.5, 0.5], [0.5, 0.5])
    sure = posteriors([0.99, 0.01], [0.01, 0.99])
    assert run_steps(Confidence("max_prob", 0.9), [unsure, sure, sure]) == [
        CONTINUE, 1, 2]
    # Entropy stops at or *below* its threshold.
    assert run_steps(Confidence("entropy", 0.05), [unsure, sure])[0] == (
        CONTINUE
    )
    assert run_steps(Confidence("entropy", 0.05), [unsure, sure])[1] == 1


def test_fixed_exit_fires_from_its_layer():
    lps = [posteriors([0.5, 0.5])] * 4
    assert run_steps(FixedExit(layer=3), lps) == [CONTINUE, CONTINUE, 2, 3]


def test_patience_cer_window_by_hand():
    a = one_hot_path([0, 1, 1, 0, 2, 0])
    b = one_hot_path([0, 1, 0, 0, 2, 0])  # one substitution from a: CER 1/6
    c = one_hot_path([3, 3, 3, 3, 3, 3])
    # threshold 0.2 accepts a~b; c breaks the window.
    strategy = Patience(patience=2, threshold=0.2, distance="cer")
    # exits: a, c, a, b, a -> window restarts at 2 (a), grows with b and a:
    # 3 exits at position 4 -> stop with the first of the window, exit 2.
    assert run_steps(strategy, [a, c, a, b, a]) == [
        CONTINUE, CONTINUE, CONTINUE, CONTINUE, 2]
    # A stricter threshold never lets b join a.
    strict = Patience(patience=2, threshold=0.1, distance="cer")
    assert run_steps(strict, [a, b, a, b]) == [CONTINUE] * 4


def test_patience_collapsed_cer_ignores_frame_alignment():
    a = one_hot_path([0, 1, 1, 0, 2, 0])
    shifted = one_hot_path([1, 1, 0, 2, 2, 0])  # same tokens "1 2"
    collapsed = Patience(patience=1, threshold=0.0, distance="cer_collapsed")
    assert run_steps(collapsed, [a, shifted]) == [CONTINUE, 0]
    raw = Patience(patience=1, threshold=0.0, distance="cer")
    assert run_steps(raw, [a, shifted]) == [CONTINUE, CONTINUE]


def test_patience_bce_distance_by_hand():
    p = posteriors([0.9, 0.1])
    q = posteriors([0.8, 0.2])
    # Current exit q against the window's p as target, per element:
    # -(t log x + (1 - t) log(1 - x)); both elements give the same value.
    bce = -(0.9 * math.log(0.8) + 0.1 * math.log(0.2))
    assert bce == pytest.approx(0.3618, abs=1e-3)
    loose = Patience(patience=1, threshold=bce + 1e-3, distance="bce")
    assert run_steps(loose, [p, q]) == [CONTINUE, 0]
    tight = Patience(patience=1, threshold=bce - 1e-3, distance="bce")
    assert run_steps(tight, [p, q]) == [CONTINUE, CONTINUE]


def test_token_confidence_ignores_blank_frames():
    # Frame-averaged max prob is high (blank frames), the token frame is not.
    lp = posteriors([0.99, 0.01], [0.99, 0.01], [0.4, 0.6], [0.99, 0.01])
    assert confidence_score(lp, torch.tensor([4]), "max_prob") > 0.8
    assert run_steps(TokenConfidence(threshold=0.8), [lp, lp]) == [
        CONTINUE, CONTINUE]
    assert run_steps(TokenConfidence(threshold=0.55), [lp, lp]) == [
        CONTINUE, 1]


def test_token_confidence_needs_the_same_hypothesis_twice():
    first = one_hot_path([0, 1, 0])
    second = one_hot_path([0, 2, 0])
    strategy = TokenConfidence(threshold=0.5)
    assert run_steps(strategy, [first, second, second]) == [
        CONTINUE, CONTINUE, 2]


def test_sequence_confidence_nbest_and_greedy():
    peaked = one_hot_path([0, 1, 0, 2], vocab=4, peak=0.999)
    flat = torch.full((1, 4, 4), 0.25).log()
    lengths = torch.tensor([4])
    nbest = SequenceConfidence(threshold=0.9, form="nbest", n_best=5)
    assert nbest.score(peaked, lengths).item() > 0.95
    assert nbest.score(flat, lengths).item() < 0.5
    assert run_steps(nbest, [flat, peaked]) == [CONTINUE, 1]
    greedy = SequenceConfidence(threshold=0.9, form="greedy")
    assert greedy.score(flat, lengths).item() == pytest.approx(0.25)


def test_simulate_falls_back_to_the_last_exit():
    unsure = torch.full((2, 3, 4), 0.25).log()
    sure = one_hot_path([0, 1, 2]).expand(2, -1, -1)
    lps = [unsure, torch.cat([sure[:1], unsure[:1]]), unsure]
    chosen, stopped = simulate(Confidence("max_prob", 0.9), lps,
                               torch.tensor([3, 3]), [1, 2, 3])
    assert chosen.tolist() == [1, 2]
    assert stopped.tolist() == [1, 2]


def test_simulate_patience_stops_later_than_it_chooses():
    a = one_hot_path([0, 1, 0])
    chosen, stopped = simulate(Patience(patience=2, threshold=0.0),
                               [a, a, a, a], torch.tensor([3]), [1, 2, 3, 4])
    assert chosen.tolist() == [0]
    assert stopped.tolist() == [2]


def test_oracle_picks_shallowest_best_exit():
    errors = [[4, 2, 2, 3], [1, 1, 1, 1], [5, 4, 3, 0]]
    assert oracle_exits(errors).tolist() == [1, 0, 3]


@pytest.mark.parametrize("seed", range(5))
def test_oracle_never_worse_than_any_fixed_exit(seed):
    rng = np.random.default_rng(seed)
    errors = rng.integers(0, 6, size=(12, 4))
    layers = [2, 4, 6, 8]
    best = errors[np.arange(12), oracle_exits(errors)]
    curve = dict(oracle_curve(errors, layers))
    for position, layer in enumerate(layers):
        fixed_total = errors[:, position].sum()
        assert best.sum() <= fixed_total
        # On the bound curve, the fewest errors at average depth <= layer.
        at_depth = min(e for d, e in curve.items() if d <= layer)
        assert at_depth <= fixed_total


def test_oracle_curve_equals_brute_force():
    rng = np.random.default_rng(3)
    errors = rng.integers(0, 5, size=(5, 3))
    layers = [1, 2, 4]
    brute = {}
    for picks in itertools.product(range(3), repeat=5):
        cost = sum(layers[p] for p in picks)
        err = sum(errors[i, p] for i, p in enumerate(picks))
        brute[cost] = min(brute.get(cost, 10**9), err)
    curve = oracle_curve(errors, layers)
    for avg, err in curve:
        total = round(avg * 5)
        assert err == min(e for c, e in brute.items() if c <= total)
    assert curve[-1][1] == errors.min(axis=1).sum()
    assert curve[0] == (1.0, errors[:, 0].sum())


def test_overthinking_statistic():
    errors = [[1, 3, 2], [0, 0, 0], [2, 1, 1], [4, 2, 3]]
    stats = overthinking(errors)
    assert stats["share"] == pytest.approx(2 / 4)
    assert stats["errors_saved"] == (2 - 1) + 0 + 0 + (3 - 2)


def test_nbest_posterior_equals_speechbrains_prefix_beam_search():
    """The fast n-best search (flashlight) against SpeechBrain's Python
    CTCBeamSearcher, the reference: the same n-best posteriors."""
    from speechbrain.decoders import CTCBeamSearcher

    from speechbrain_ee.decoding.exit_strategies import nbest_posterior, nbest_searcher

    torch.manual_seed(0)
    vocab, n_best = 6, 5
    log_probs = (2 * torch.randn(4, 12, vocab)).log_softmax(-1)
    lengths = torch.tensor([12, 9, 5, 2])
    fast = nbest_posterior(log_probs, lengths, nbest_searcher(vocab, n_best))
    names = [str(i) for i in range(vocab)]
    reference = CTCBeamSearcher(blank_index=0, vocab_list=names, beam_size=n_best,
                                topk=n_best, space_token=names[0])
    expected = [float(torch.softmax(torch.tensor([h.score for h in hyps]), 0).max())
                for hyps in reference(log_probs, lengths.float() / 12)]
    assert fast.tolist() == pytest.approx(expected, abs=1e-4)


def test_with_threshold_keeps_every_other_setting():
    from speechbrain_ee.decoding.exit_strategies import with_threshold

    patience = Patience(patience=3, threshold=0.1, distance="bce")
    changed = with_threshold(patience, 0.02)
    assert (changed.patience, changed.distance, changed.threshold) == (3, "bce", 0.02)
    assert patience.threshold == 0.1
    nbest = SequenceConfidence(threshold=0.9, form="nbest", n_best=4, blank_index=2)
    changed = with_threshold(nbest, 0.5)
    assert (changed.form, changed.n_best, changed.blank_index, changed.threshold) == (
        "nbest", 4, 2, 0.5)
    assert with_threshold(FixedExit(4), 2).layer == 2
