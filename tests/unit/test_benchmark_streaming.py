"""Fast tests of ``benchmarks/streaming.py`` on tiny untrained models of the
two streaming YAMLs: per-setting WER, speed and latency, the exactness of
the streaming path inside the benchmark, the stream-age rows (state
constant for SummaryMixing, growing for MHSA with unlimited left context),
tables, CSV and plot."""

import csv
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from tests.unit.test_streaming import STREAMING_YAMLS, audio, build, transcriber

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "streaming.py"


@pytest.fixture(scope="module")
def bench():
    """The benchmark script, imported as a module."""
    spec = importlib.util.spec_from_file_location("streaming_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def models():
    return {yaml.split("_ctc")[0]: transcriber(build(yaml)) for yaml in STREAMING_YAMLS}


SETS = {"test-clean": [("u1", audio(1.3, 1)[0], ["A", "B"]),
                       ("u2", audio(2.1, 2)[0], ["C"])],
        "cv-test": [("u3", audio(0.9, 3)[0], ["D", "E", "F"])]}


@pytest.mark.parametrize("left", [None, 1])
def test_setting_scores_times_and_is_exact(bench, models, left):
    for name, asr in models.items():
        config = asr.config(320, left)
        stats = bench.measure_setting(asr, SETS, config, exact_utterances=2)
        assert set(stats["per_set"]) == set(SETS)
        for set_name, scores in stats["per_set"].items():
            assert scores["utterances"] == len(SETS[set_name])
            assert scores["words"] == sum(len(r) for _, _, r in SETS[set_name])
            assert 0 <= scores["WER"] <= 100 * max(1, len(SETS[set_name]) * 40)
        assert stats["algorithmic_ms"] == pytest.approx(320 + 42.5)
        assert stats["rtf"] > 0
        assert stats["latency_ms_p95"] >= stats["latency_ms_median"] >= stats["algorithmic_ms"]
        # chunks: 1.3 s -> 5 chunks of 0.32 s, 2.1 s -> 7, 0.9 s -> 3
        assert stats["chunks"] == 5 + 7 + 3
        # the streaming path inside the benchmark equals the chunk-masked pass
        assert stats["max_abs_diff"] is not None and stats["max_abs_diff"] < 2e-4, name


def test_exactness_check_catches_a_wrong_stream(bench, models, monkeypatch):
    """The exactness column can fail: a stream that loses its state between
    chunks is caught."""
    asr = models["conformer_summarymixing_streaming"]
    forward = asr.model.forward_streaming
    blank = asr.model.make_streaming_context

    def forgetful(x, context):
        return forward(x, blank(context.config))  # a fresh state every chunk

    monkeypatch.setattr(asr.model, "forward_streaming", forgetful)
    stats = bench.measure_setting(asr, {"s": SETS["test-clean"]}, asr.config(160), 1)
    assert stats["max_abs_diff"] > 1e-3


def test_stream_age_rows(bench, models):
    waves = [w for _, w, _ in SETS["test-clean"]]
    rows = {}
    for name, asr in models.items():
        rows[name] = bench.age_case(asr, waves, asr.config(320, None), [0.02, 0.06])
        assert [r["minutes"] for r in rows[name]] == [0.02, 0.06]
        for row in rows[name]:
            assert row["rss_bytes"] > 0 and row["compute_ms_median"] > 0
            assert row["state_bytes"] > 0
        assert rows[name][1]["chunks"] == round(0.06 * 60 / 0.32 + 0.5)
    summary = rows["conformer_summarymixing_streaming"]
    mhsa = rows["conformer_streaming"]
    assert summary[0]["state_bytes"] == summary[1]["state_bytes"]
    assert mhsa[1]["state_bytes"] > mhsa[0]["state_bytes"]
    # a stream whose cost grows with its age stops at max_minutes
    capped = bench.age_case(models["conformer_streaming"], waves,
                            models["conformer_streaming"].config(320, None), [0.02, 0.06],
                            max_minutes=0.03)
    assert [r["status"] for r in capped] == ["ok", "skipped"]


def test_tables_csv_and_plot(bench, tmp_path):
    rows = [{"model": m, "chunk_ms": c, "left": "all", "set": s, "WER": w,
             "latency_ms_median": c + 50.0}
            for m in ("a", "b") for c in (160, 640) for s, w in (("test-clean", 10.0),
                                                                  ("cv-test", 30.0))]
    bench.write_csv(rows, tmp_path / "x.csv")
    with open(tmp_path / "x.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    bench.plot(rows, "test-clean", tmp_path / "x.png")
    png = (tmp_path / "x.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert bench.markdown(rows[:1], ["model", "WER"]).splitlines()[2] == "| a | 10 |"
    assert bench.state_bytes([torch.zeros(3), {"x": torch.zeros(1)}]) == 16
