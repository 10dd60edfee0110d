"""Fixtures of the integration tests: the tiny built-in corpora."""

import pytest

from speechbrain_ee.dataio.corpus import build_corpora

from .recipe_runs import (
    TINY_BLANK_SKIP,
    TINY_COMPOSED,
    TINY_TEACHER,
    distill_command,
    run_recipe,
)


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
def tiny_pool(tmp_path_factory):
    """The tiny unlabelled pool (mini-librilight) for self-supervised
    pretraining."""
    return build_corpora(tmp_path_factory.mktemp("pool"), preset="tiny",
                         seed=7, only="librilight")["librilight"]


@pytest.fixture(scope="session")
def teacher(tiny_corpora, tiny_pool, tmp_path_factory):
    """Three epochs of the tiny built-in HuBERT teacher on the training
    audio and the unlabelled pool (distillation and S3-Router tests start
    from it)."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    run_recipe("", "", tiny_corpora, out, "--number_of_epochs=3",
               f"--unlabelled_folder={tiny_pool}",
               *TINY_TEACHER, command=distill_command("pretrain_teacher.py",
                                                      "hubert_teacher.yaml"))
    return out
