"""Fast tests of ``benchmarks/token_mixing.py`` on tiny settings: tables,
ratios, exponents, CSV and PNG, the memory-measuring subprocess, skipping,
parameter matching, the fused-attention baseline and the no-mixing floor."""

import csv
import dataclasses
import doctest
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "token_mixing.py"
SMALL = [
    "--batch-sizes", "1", "--layers", "1", "--d-model", "32", "--d-ffn", "64",
    "--nhead", "4", "--kernel-size", "3", "--repeats", "1",
]
TINY = ["--lengths", "1", "2"] + SMALL


@pytest.fixture(scope="module")
def token_mixing():
    """The benchmark script, imported as a module."""
    spec = importlib.util.spec_from_file_location("token_mixing", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_in_process_run_writes_tables_csv_and_png(
    token_mixing, tmp_path, capsys
):
    out = tmp_path / "out"
    results = token_mixing.main(
        TINY + ["--no-subprocess", "--fit-min-seconds", "0", "--out", str(out)]
    )
    encoders = token_mixing.ENCODERS
    cases = results["cases"]
    assert len(cases) == len(encoders) * 2
    assert {c.encoder for c in cases} == set(encoders)
    for case in cases:
        assert case.status == "ok", case
        assert case.infer_s > 0 and case.train_s > 0
        assert len(case.infer_times) == len(case.train_times) == 1
        assert case.frames == 25 * case.seconds
        assert case.step_mem_bytes is None  # in-process: memory n/a

    # SummaryMixing vs every baseline (the floor included), for every length
    summary_mixing = [e for e in encoders if e not in token_mixing.BASELINES]
    assert len(summary_mixing) == 3
    assert len(results["ratios"]) == len(summary_mixing) * 2
    for row in results["ratios"]:
        for base in token_mixing.BASELINES:
            for what in ("infer", "train"):
                assert row[f"{what}/{base}"] > 0
            assert row[f"mem/{base}"] is None
    exponents = results["exponents"]
    assert len(exponents) == len(encoders)
    assert all(e["inference"] is not None and e["training"] is not None
               for e in exponents)

    printed = capsys.readouterr().out
    for text in ("torch=", "memory: n/a", "Absolute times", "Ratios",
                 "Growth exponent", "parameters", "infer/relpos",
                 "train/sdpa", "infer/no_mixing", "the floor"):
        assert text in printed, text

    with open(results["files"]["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(cases)
    assert {"encoder", "seconds", "infer_times", "train_times", "params",
            "step_mem_bytes", "torch"} <= set(rows[0])
    png = results["files"]["png"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert "Ratios" in results["files"]["txt"].read_text()


def test_subprocess_case_measures_memory(token_mixing, tmp_path):
    results = token_mixing.main(
        SMALL + ["--lengths", "1", "--encoders", "summarymixing_conformer",
                    "--out", str(tmp_path)]
    )
    (case,) = results["cases"]
    assert case.status == "ok", case.note
    assert case.peak_mem_bytes >= case.mem_before_bytes > 0
    assert case.step_mem_bytes == case.peak_mem_bytes - case.mem_before_bytes
    assert case.mem_measure
    assert "fresh process" in results["report"]


def test_slow_cases_skip_longer_lengths(token_mixing, tmp_path):
    results = token_mixing.main(
        TINY + ["--no-subprocess", "--encoders", "mhsa_regular",
                "--max-seconds-per-case", "1e-9", "--out", str(tmp_path)]
    )
    statuses = [(c.seconds, c.status) for c in results["cases"]]
    assert statuses == [(1, "ok"), (2, "skipped")]
    assert "skipped" in results["report"]


def test_parameter_counts_are_matched(token_mixing):
    cfg = token_mixing.match_parameters(
        token_mixing.ModelConfig(
            layers=2, d_model=32, d_ffn=64, nhead=4, kernel_size=3
        )
    )
    count = token_mixing.count_parameters
    target = count("mhsa_relpos", cfg)
    for name, field, step in (
        ("summarymixing_conformer", "summary_hidden", cfg.nhead),
        ("summarymixing_branchformer", "csgu_linear_units", 2),
    ):
        size = getattr(cfg, field)
        gap = abs(count(name, cfg) - target)
        for other in (size - step, size + step):
            other_cfg = dataclasses.replace(cfg, **{field: other})
            assert gap <= abs(count(name, other_cfg) - target)
        assert gap < 0.05 * target


def test_sdpa_baseline_matches_speechbrain_attention(token_mixing):
    cfg = token_mixing.ModelConfig(
        layers=2, d_model=32, d_ffn=64, nhead=4, kernel_size=3
    )
    src = torch.randn(2, 30, 32)
    mask = torch.zeros(2, 30, dtype=torch.bool)
    outputs = []
    for name in ("mhsa_regular", "mhsa_sdpa"):
        torch.manual_seed(0)
        model = token_mixing.build_bench_encoder(name, cfg).eval()
        with torch.no_grad():
            outputs.append(model(src, mask))
    torch.testing.assert_close(outputs[0], outputs[1], atol=1e-5, rtol=1e-5)


def test_doctests(token_mixing):
    assert doctest.testmod(token_mixing).failed == 0


def test_no_mixing_is_the_conformer_without_its_mixer(token_mixing):
    """A SummaryMixing Conformer whose mixer outputs zeros (zero combiner)
    equals the no-mixing encoder with the same other weights; it has fewer
    parameters than every other encoder."""
    cfg = token_mixing.match_parameters(token_mixing.ModelConfig(
        layers=2, d_model=32, d_ffn=64, nhead=4, kernel_size=3
    ))
    torch.manual_seed(0)
    full = token_mixing.build_bench_encoder(
        "summarymixing_conformer_authors", cfg
    ).eval()
    floor = token_mixing.build_bench_encoder("no_mixing", cfg).eval()
    for layer in full.encoder.layers:
        torch.nn.init.zeros_(layer.summary_mixing.combiner[0].weight)
        torch.nn.init.zeros_(layer.summary_mixing.combiner[0].bias)
    floor.load_state_dict(full.state_dict(), strict=False)
    src = torch.randn(2, 30, 32)
    mask = torch.arange(30)[None] >= torch.tensor([30, 17])[:, None]
    with torch.no_grad():
        torch.testing.assert_close(floor(src, mask), full(src, mask))
    counts = {n: token_mixing.count_parameters(n, cfg)
              for n in token_mixing.ENCODERS}
    assert min(counts, key=counts.get) == "no_mixing"
    assert counts["summarymixing_conformer_authors"] < counts[
        "summarymixing_conformer"]
