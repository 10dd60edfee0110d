"""benchmarks/time_to_accuracy.py on runs written by hand: the curves, the
minutes to each WER target, the plateau step, the plot; bad arguments are
named."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "time_to_accuracy.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(folder, epochs, losses):
    """A run folder: train_log.txt with (minutes, dev WER) per epoch and a
    progress.csv with (step, loss) rows."""
    folder.mkdir()
    lines = [f"epoch: {i}, lr: 1.00e-03, steps: {100 * i} - train loss: 2.0, "
             f"train minutes: {minutes} - valid loss: 1.0, valid WER: {wer}, valid CER: 9.0"
             for i, (minutes, wer) in enumerate(epochs, start=1)]
    lines.append("test set: test-clean, epochs trained: 2 - test WER: 50.0")
    (folder / "train_log.txt").write_text("\n".join(lines) + "\n")
    rows = [f"{step},{step / 100:.2f},{loss},0.001" for step, loss in losses]
    (folder / "progress.csv").write_text("step,minutes,loss,lr\n" + "\n".join(rows) + "\n")
    return folder


def test_report_from_trained_runs(bench, tmp_path, capsys):
    fast = fake_run(tmp_path / "fast", [(2.0, 60.0), (2.0, 25.0)],
                    [(50, 3.0), (100, 2.9), (150, 1.5)])
    slow = fake_run(tmp_path / "slow", [(2.0, 100.0), (2.0, 90.0)],
                    [(50, 3.0), (100, 2.9), (150, 2.8)])
    out = tmp_path / "out"
    curves = bench.main(["--runs", f"fast={fast}", f"slow={slow}", "--out", str(out),
                         "--targets", "80", "30"])
    assert [e["minutes"] for e in curves["fast"]] == [2.0, 4.0]
    report = (out / "report.md").read_text().splitlines()
    fast_row = next(r for r in report if r.startswith("| fast"))
    slow_row = next(r for r in report if r.startswith("| slow"))
    # epochs, minutes, last WER, plateau step, minutes to WER 80 and 30
    assert fast_row.split(" | ")[1:] == ["2", "4.0", "25.00", "150", "2.0", "4.0 |"]
    assert slow_row.split(" | ")[1:] == ["2", "4.0", "90.00", "-", "-", "- |"]
    assert (out / "time_to_accuracy.png").stat().st_size > 1000
    assert len((out / "curves.csv").read_text().splitlines()) == 5
    assert "fast" in capsys.readouterr().out


def test_bad_arguments_are_named(bench, tmp_path):
    with pytest.raises(SystemExit, match="NAME=FOLDER"):
        bench.main(["--runs", str(tmp_path), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="no missing.yaml"):
        bench.main(["--variant", "x=missing.yaml", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="NAME=YAML"):
        bench.parse_variant("conformer_ctc.yaml")
