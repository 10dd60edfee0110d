"""benchmarks/recipe_step_time.py on tiny settings: it times every YAML
kind it supports side by side and names a YAML it cannot time."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "recipe_step_time.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("recipe_step_time", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_times_plain_and_early_exit_yamls(bench, capsys):
    yamls = ["conformer_ctc.yaml", "summarymixing_early_exit_ctc.yaml"]
    train, infer = bench.main([*yamls, "--batch", "1", "--seconds", "0.5",
                               "--steps", "1", "--repeats", "1"])
    assert set(train) == set(infer) == set(yamls)
    assert all(t > 0 for t in train.values())
    out = capsys.readouterr().out
    assert "conformer_ctc.yaml" in out and "1.00" in out


def test_rejects_an_unknown_yaml(bench):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        bench.main(["nope.yaml"])


def test_times_each_precision_side_by_side(bench, capsys):
    train, _ = bench.main(["conformer_ctc.yaml", "--precisions", "fp32", "bf16",
                           "--batch", "1", "--seconds", "0.5", "--steps", "1",
                           "--repeats", "1"])
    assert set(train) == {"conformer_ctc.yaml fp32", "conformer_ctc.yaml bf16"}
    assert "conformer_ctc.yaml bf16" in capsys.readouterr().out
