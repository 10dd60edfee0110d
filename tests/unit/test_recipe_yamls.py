"""Every recipe YAML builds with its defaults, and the SummaryMixing
variants keep the baseline's parameter budget."""

from pathlib import Path

import pytest
from hyperpyyaml import load_hyperpyyaml

HPARAMS = Path(__file__).resolve().parents[2] / "recipes" / "LibriSpeech" / \
    "ASR" / "CTC" / "hparams"
YAMLS = sorted(p.name for p in HPARAMS.glob("*.yaml"))


def encoder_parameters(name):
    with open(HPARAMS / name, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f)
    return sum(p.numel() for p in hparams["encoder"].encoder.parameters())


@pytest.mark.parametrize("name", YAMLS)
def test_yaml_builds_with_defaults(name):
    assert encoder_parameters(name) > 0


@pytest.mark.parametrize("name", [n for n in YAMLS if "summarymixing" in n])
def test_summary_mixing_matches_baseline_budget(name):
    baseline = encoder_parameters("conformer_ctc.yaml")
    assert abs(encoder_parameters(name) - baseline) / baseline < 0.01
