"""Fixtures of the integration tests: the tiny built-in corpora."""

import pytest

from speechbrain_ee.dataio.corpus import build_corpora

from .recipe_runs import TINY_BLANK_SKIP, TINY_COMPOSED, distill_command, run_recipe


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory):
    """The tiny preset of the built-in corpora, built once for the session."""
    return build_corpora(tmp_path_factory.mktemp("corpora"), preset="tiny",
                         seed=7)


@pytest.fixture(scope="session")
def blank_skip_run(tiny_corpora, tmp_path_factory):
    """Three epochs of the tiny Conformer blank-skip recipe (its own tests
    and the export tests use it)."""
    out = tmp_path_factory.mktemp("blank_skip") / "run"
    run_recipe("CTC", "conformer_blankskip_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=3", *TINY_BLANK_SKIP)
    return out


@pytest.fixture(scope="session")
def composed_run(tiny_corpora, tmp_path_factory):
    """Two epochs of the tiny SummaryMixing model with early exits and blank
    skip (the export and leaderboard tests use it)."""
    out = tmp_path_factory.mktemp("composed") / "run"
    run_recipe("CTC", "summarymixing_ee_blankskip_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=2", *TINY_COMPOSED)
    return out


@pytest.fixture(scope="session")
def teacher(tiny_corpora, tmp_path_factory):
    """Three epochs of the tiny built-in HuBERT teacher (distillation and
    S3-Router tests start from it)."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    run_recipe("", "", tiny_corpora, out, "--number_of_epochs=3",
               "--hidden_size=32", "--num_layers=2", "--num_heads=4",
               "--ffn_size=64", "--conv_dim=32", "--num_units=20",
               "--codeword_dim=16", "--warmup_steps=5", "--lr_adam=0.002",
               command=distill_command("pretrain_teacher.py",
                                       "hubert_teacher.yaml"))
    return out
