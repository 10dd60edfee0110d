"""Integration: the blank-skip CTC recipe trains on a tiny generated corpus
(both heads' losses fall, skipping switches on after the warm-up), resumes,
scores both test sets with the skip statistics, and the blank-skip
benchmark sweeps the trained run."""

import csv
import doctest
import importlib.util
import json
import re
import sys

import pytest

from .recipe_runs import REPO_ROOT, TINY_BLANK_SKIP, run_recipe

HPARAMS = "conformer_blankskip_ctc.yaml"
BENCHMARK = REPO_ROOT / "benchmarks" / "blank_skip.py"


def epoch_stats(output_folder):
    """Epoch -> {stat: value} of the train stage, from train_log.txt."""
    stats = {}
    for line in (output_folder / "train_log.txt").read_text().splitlines():
        epoch = re.match(r"epoch: (\d+),", line)
        if epoch:
            stats[int(epoch.group(1))] = {
                name: float(value) for name, value in re.findall(
                    r"train (\w+): ([\d.e+-]+)", line)
            }
    return stats


@pytest.fixture(scope="module")
def trained_run(blank_skip_run):
    """Three epochs of the Conformer blank-skip recipe (conftest.py)."""
    return blank_skip_run


def test_blank_skip_recipe_trains_scores_and_resumes(trained_run,
                                                     tiny_corpora):
    stats = epoch_stats(trained_run)
    assert sorted(stats) == [1, 2, 3]
    for key in ("loss_L2", "loss_L3", "loss_aux"):
        assert stats[3][key] < stats[1][key], (key, stats)
    # Warm-up: no skipping in the first 7 steps (epoch 1), then skipping.
    assert stats[1]["skipped_share"] == 0.0
    assert max(stats[2]["skipped_share"], stats[3]["skipped_share"]) > 0.0
    results = json.loads((trained_run / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for test in results.values():
        for key in ("WER", "beam_WER", "WER_L2", "WER_L3", "loss_aux",
                    "skipped_share", "speedup", "encoder_speedup",
                    "time_full_s", "time_dynamic_s"):
            assert key in test, key
        assert 0.0 <= test["skipped_share"] <= 1.0
        assert test["speedup"] > 0 and test["encoder_speedup"] > 0
        assert "strategy_WER" not in test  # no early-exit strategy here
    # Resuming: one more epoch continues from the checkpoint.
    log = run_recipe("CTC", HPARAMS, tiny_corpora, trained_run,
                     "--number_of_epochs=4", *TINY_BLANK_SKIP)
    assert "Loading a checkpoint" in log
    assert sorted(epoch_stats(trained_run)) == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def benchmark():
    """``benchmarks/blank_skip.py``, imported as a module."""
    spec = importlib.util.spec_from_file_location("blank_skip_bench",
                                                  BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_benchmark_sweeps_a_trained_run(trained_run, benchmark, tmp_path,
                                        capsys):
    out = tmp_path / "bench"
    results = benchmark.main([
        str(trained_run), "--thresholds", "1.0", "0.0", "--spike-widths",
        "1", "none", "--repeats", "1", "--out", str(out),
    ])
    assert set(results) == {"test-clean", "cv-test"}
    for name, result in results.items():
        rows = {(r["threshold"], r["spike_width"]): r for r in result["rows"]}
        assert set(rows) == {(1.0, 1), (0.0, 1), (1.0, "none"),
                             (0.0, "none")}
        for width in (1, "none"):
            full = rows[(1.0, width)]
            assert full["skipped_share"] == 0.0
            assert full["WER"] == result["full_WER"]
            assert full["layer_compute"] == 1.0
        everything = rows[(0.0, "none")]
        assert everything["skipped_share"] == 1.0
        assert everything["layer_compute"] == pytest.approx(2 / 3)
        for row in rows.values():
            assert row["encoder_speedup"] > 0
        with open(out / f"blank_skip_{name}.csv", encoding="utf-8") as f:
            assert len(list(csv.DictReader(f))) == 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skip_layer"] == 2 and summary["num_layers"] == 3
    assert (out / "blank_skip.png").stat().st_size > 10_000
    assert "without skipping" in capsys.readouterr().out


def test_benchmark_rejects_a_run_without_blank_skip(benchmark, tmp_path):
    run = tmp_path / "plain"
    run.mkdir()
    (run / "hyperparams.yaml").write_text("seed: 1\n")
    with pytest.raises(ValueError, match="has no `ctc_model`: not a run of a CTC YAML"):
        benchmark.main([str(run)])
    with pytest.raises(FileNotFoundError, match="hyperparams.yaml"):
        benchmark.main([str(tmp_path / "missing")])


def test_benchmark_doctests(benchmark):
    assert doctest.testmod(benchmark).failed == 0
