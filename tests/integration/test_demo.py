"""The main job end to end (slow: about 20 minutes on 2 cores)."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_builds_trains_and_scores(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "speechbrain_ee.cli", "demo",
           "--corpus-dir", str(tmp_path / "corpora"),
           "--output-folder", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test-clean" in proc.stdout and "cv-test" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    # Real learning: an untrained (blank-only) model scores 100% WER. The
    # demo measured 54.4% beam WER / 17.2% CER in-domain, 85.1% / 39.2% OOD,
    # and 17.5% / 59.3% with the lexicon and the trigram of the LM text
    # (2026-12-06 06:38, 4,657 steps; the code before the cool-down and the LM
    # text: 21.1-22.7% / 65.9-69.3% in 3,453-4,634 steps); the
    # out-of-distribution set must be partly transcribed.
    assert results["test-clean"]["beam_WER"] < 65
    assert results["test-clean"]["beam_CER"] < 24
    assert results["test-clean"]["lexicon_WER"] < 25
    assert results["cv-test"]["beam_CER"] < 55
    assert results["cv-test"]["lexicon_WER"] < 70
    assert results["cv-test"]["beam_CER"] > results["test-clean"]["beam_CER"]
    # The demo's model exports, loads back and transcribes from the command
    # line.
    from speechbrain_ee.cli import main

    export = tmp_path / "exported"
    assert main(["export", str(out), str(export)]) == 0
    assert f"{results['test-clean']['WER']:.2f}" in (
        export / "README.md").read_text()
    assert main(["transcribe", str(export / "example.flac"), "--model",
                 str(export)]) == 0
