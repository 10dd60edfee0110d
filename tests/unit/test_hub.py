"""Tests of ``speechbrain-ee push``: the dry run lists exactly the exported
files; a missing token, a folder that is not an export and a network
failure give clear errors."""

import json

import pytest

from speechbrain_ee.cli import main
from speechbrain_ee.inference.hub import push


@pytest.fixture
def export_folder(tmp_path):
    """A folder laid out as an export (its manifest and files)."""
    folder = tmp_path / "model"
    folder.mkdir()
    files = ["README.md", "hyperparams.yaml", "model.ckpt"]
    for name in files:
        (folder / name).write_text(name)
    (folder / "export.json").write_text(json.dumps(
        {"files": dict.fromkeys(files + ["export.json"])}))
    (folder / "notes-of-mine.txt").write_text("not exported")
    return folder


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no stored login
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))


def test_dry_run_lists_exactly_the_exported_files(export_folder, capsys):
    assert main(["push", str(export_folder), "me/model", "--dry-run"]) == 0
    listed = [line.strip() for line in capsys.readouterr().out.splitlines()
              if line.startswith("  ")]
    assert listed == ["README.md", "export.json", "hyperparams.yaml",
                      "model.ckpt"]


def test_not_an_export(tmp_path, capsys):
    assert main(["push", str(tmp_path), "me/model", "--dry-run"]) == 2
    assert "not an export" in capsys.readouterr().err


def test_missing_token(export_folder, no_token, capsys):
    assert main(["push", str(export_folder), "me/model"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err


def test_network_failure(export_folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    with pytest.raises(RuntimeError, match="upload of .* failed"):
        push(export_folder, "me/model", endpoint="http://127.0.0.1:9")


def test_repo_id_needs_an_owner(export_folder):
    with pytest.raises(ValueError, match="owner/name"):
        push(export_folder, "model", dry_run=True)
