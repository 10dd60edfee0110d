"""Tests of the speechbrain-ee command line."""

import pytest

from speechbrain_ee.cli import build_parser, main


def test_every_command_has_help(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "corpus" in out and "demo" in out


def test_corpus_refuses_a_foreign_folder(tmp_path, capsys):
    target = tmp_path / "mine"
    (target / "mini-librispeech").mkdir(parents=True)
    (target / "mini-librispeech" / "notes.txt").write_text("keep me")
    status = main(["corpus", "--out", str(target), "--preset", "tiny"])
    assert status == 2
    assert "mini-librispeech" in capsys.readouterr().err
    assert (target / "mini-librispeech" / "notes.txt").read_text() == "keep me"


def test_demo_refuses_missing_recipe(monkeypatch, tmp_path, capsys):
    import speechbrain_ee.demo as demo

    monkeypatch.setattr(demo, "RECIPE_DIR", tmp_path / "nowhere")
    assert main(["demo", "--corpus-dir", str(tmp_path / "c")]) == 2
    assert "checkout" in capsys.readouterr().err


def test_exit_tradeoff_names_a_missing_experiment(tmp_path, capsys):
    status = main(["exit-tradeoff", str(tmp_path / "nowhere")])
    assert status == 2
    err = capsys.readouterr().err
    assert "hyperparams.yaml not found" in err and "train.py" in err
