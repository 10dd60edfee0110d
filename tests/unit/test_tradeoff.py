"""The compute/WER trade-off analysis (speechbrain_ee.analysis.tradeoff)."""

import numpy as np
import pytest
import torch

from speechbrain_ee.decoding.exit_strategies import (
    Confidence,
    SequenceConfidence,
    simulate,
)
from speechbrain_ee.analysis.tradeoff import (
    DEFAULT_GRID,
    analyse,
    collect_exits,
    decide,
    expand_grid,
    format_report,
    plot,
    write_csv,
)
from speechbrain_ee.lobes.asr_encoder import ASREncoder
from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingConformerEncoder,
)

D, FEATS, VOCAB = 16, 10, 6
GRID = {
    "confidence": [{"measure": "max_prob", "threshold": [0.3, 0.5, 0.7]}],
    "sequence_confidence": [{"form": "greedy", "threshold": [0.4, 0.6]}],
    "patience": [{"patience": 1, "distance": "cer", "threshold": [0.0, 0.3]}],
    "token_confidence": [{"threshold": [0.4, 0.8]}],
}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    stack = SummaryMixingConformerEncoder(num_layers=4, d_model=D, d_ffn=32,
                                          nhead=2, kernel_size=3)
    asr = ASREncoder(stack, input_size=FEATS, d_model=D,
                     positional_encoding="none")
    ee = DynamicCTCEncoder(asr, D, VOCAB, exit_layers=[1, 2, 3, 4]).eval()
    with torch.no_grad():
        for head in ee.ctc_heads:
            head.weight.mul_(6.0)
    return ee


def decode(log_probs, wav_lens):
    """Greedy collapse; token ids as words."""
    out = []
    lengths = torch.round(wav_lens * log_probs.shape[1]).long()
    for lp, n in zip(log_probs, lengths):
        labels = lp[:n].argmax(-1).tolist()
        words = [str(t) for i, t in enumerate(labels)
                 if t != 0 and (i == 0 or labels[i - 1] != t)]
        out.append(words)
    return out


def batches(n_batches=3, batch=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for b in range(n_batches):
        lengths = torch.randint(6, 16, (batch,), generator=gen)
        feats = torch.randn(batch, int(lengths.max()), FEATS, generator=gen)
        refs = [[str(int(t)) for t in torch.randint(1, VOCAB, (4,),
                                                    generator=gen)]
                for _ in range(batch)]
        ids = [f"b{b}u{i}" for i in range(batch)]
        out.append((ids, feats, lengths / lengths.max(), refs))
    return out


def test_threshold_sweep_equals_simulation(model):
    records = collect_exits(model, batches(), decode)
    for strategy in (Confidence("max_prob", 0.5), Confidence("entropy", 0.25),
                     SequenceConfidence(0.5, form="greedy")):
        chosen, _ = decide(strategy, records, cache={})
        expected = torch.cat([
            simulate(strategy, b.log_probs, b.lengths,
                     records.exit_layers)[0]
            for b in records.batches])
        assert chosen.tolist() == expected.tolist()


def test_analysis_bounds_and_speed(model):
    result = analyse(model, batches(), decode, GRID, tolerance=100.0,
                     repeats=1)
    rows = result["rows"]
    fixed = [r for r in rows if r["strategy"] == "fixed"]
    assert [r["avg_layers"] for r in fixed] == [1, 2, 3, 4]
    assert fixed[-1]["WER"] == pytest.approx(result["full_WER"])
    oracle = result["oracle"]
    # No strategy beats the oracle's choice of exit per utterance.
    assert all(oracle["WER"] <= r["WER"] + 1e-9 for r in rows)
    # The bound curve ends at the oracle's WER and is below every setting
    # at the same or lower compute.
    curve = oracle["curve"]
    assert curve[-1]["WER"] == pytest.approx(oracle["WER"])
    for r in rows:
        bound = min(p["WER"] for p in curve
                    if p["avg_layers"] <= r["avg_layers"] + 1e-9)
        assert bound <= r["WER"] + 1e-9
    # With a huge tolerance the fixed first exit is the cheapest setting.
    best = {r["strategy"]: r for r in result["best"]}
    assert best["fixed"]["compute"] == pytest.approx(0.25)
    assert best["fixed"]["speedup"] > 1.0
    assert set(best) == {"fixed", "confidence", "sequence_confidence",
                         "patience", "token_confidence"}
    assert "oracle" in format_report("toy", result)


def test_outputs_are_written(model, tmp_path):
    result = analyse(model, batches(n_batches=1), decode, GRID, repeats=0)
    write_csv(result["rows"], tmp_path / "t.csv")
    header = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert header == "strategy,setting,WER,avg_layers,compute"
    plot({"a": result, "b": result}, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_default_grid_builds():
    from hyperpyyaml import load_hyperpyyaml

    with open(DEFAULT_GRID) as f:
        grid = load_hyperpyyaml(f)
    strategies = expand_grid(grid, [2, 4, 6])
    names = {s.name for s in strategies}
    assert names == {"fixed", "confidence", "sequence_confidence",
                     "patience", "token_confidence"}
    assert len(strategies) > 50
    assert np.all([s.describe() for s in strategies])
