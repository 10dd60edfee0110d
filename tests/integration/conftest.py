"""Fixtures of the integration tests: the tiny built-in corpora."""

import pytest

from speechbrain_ee.dataio.corpus import build_corpora


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory):
    """The tiny preset of the built-in corpora, built once for the session."""
    return build_corpora(tmp_path_factory.mktemp("corpora"), preset="tiny",
                         seed=7)
