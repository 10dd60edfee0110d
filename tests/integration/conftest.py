"""Fixtures of the integration tests: the tiny built-in corpora."""

import pytest

from speechbrain_ee.dataio.corpus import build_corpora

from .recipe_runs import TINY_BLANK_SKIP, run_recipe


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
