"""Integration: both streaming YAMLs train a few steps with dynamic chunks
on the tiny corpus and score dev and test at full context and at every
chunk size of the YAML; the SummaryMixing run exports, loads as a
SpeechBrain-style streaming model and streams through the command line,
from a file and from raw PCM on standard input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from .recipe_runs import REPO_ROOT, run_recipe

TINY = [
    "--d_model=32", "--d_ffn=64", "--nhead=4", "--num_encoder_layers=2",
    "--cnn_channels=8", "--lr_adam=0.002", "--warmup_steps=10", "--test_beam_size=2",
    # a few steps: the budget ends training after the first
    "--number_of_epochs=1", "--max_train_minutes=0.0001", "--max_batch_length_train=5",
    "--lexicon_searcher=null",
]
EXTRA = {"conformer_summarymixing_streaming_ctc.yaml": ["--local_proj_hid_dim=[32]",
                                                        "--summary_hid_dim=[32]"],
         "conformer_streaming_ctc.yaml": []}
LABELS = ["chunk160ms_leftall", "chunk320ms_leftall", "chunk640ms_leftall",
          "chunk640ms_left4", "chunk1280ms_leftall"]


@pytest.fixture(scope="module")
def streaming_runs(tiny_corpora, tmp_path_factory):
    """YAML -> a run folder trained a step or two with dynamic chunks."""
    runs = {}
    for yaml, extra in EXTRA.items():
        out = tmp_path_factory.mktemp("streaming") / "run"
        run_recipe("CTC", yaml, tiny_corpora, out, *TINY, *extra)
        runs[yaml] = out
    return runs


@pytest.mark.parametrize("yaml", sorted(EXTRA))
def test_streaming_yaml_trains_and_scores_every_chunk_size(streaming_runs, yaml):
    out = streaming_runs[yaml]
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for stats in results.values():
        for key in ["WER"] + [f"WER_{label}" for label in LABELS]:
            assert 0 <= stats[key] <= 500, (key, stats)
    log = (out / "train_log.txt").read_text()
    valid = [line for line in log.splitlines() if line.startswith("epoch: 1")]
    assert valid and all(f"valid WER_{label}:" in valid[0] for label in LABELS), valid


def test_exported_streaming_model_streams_from_file_and_stdin(streaming_runs, tmp_path):
    from speechbrain_ee.inference.export import export_run
    from speechbrain_ee.inference.streaming import StreamingEncoderASR

    run = streaming_runs["conformer_summarymixing_streaming_ctc.yaml"]
    folder = tmp_path / "model"
    export_run(run, folder)
    asr = StreamingEncoderASR.from_hparams(source=str(folder), savedir=str(tmp_path / "s"))
    example = next(p for p in folder.iterdir() if p.suffix in (".flac", ".wav"))
    config = asr.config(chunk_ms=320, left_context_chunks=4)
    pieces = list(asr.transcribe_file_streaming(str(example), config))
    assert len(pieces) > 2 and all(isinstance(p, str) for p in pieces)
    text = "".join(pieces).strip()

    cli = [sys.executable, "-m", "speechbrain_ee.cli", "transcribe", "--stream",
           "--model", str(folder), "--chunk-ms", "320", "--left-context-chunks", "4"]
    by_file = subprocess.run([*cli, "--speed", "0", str(example)], capture_output=True,
                             text=True, timeout=300, cwd=REPO_ROOT)
    assert by_file.returncode == 0, by_file.stderr[-2000:]
    assert by_file.stdout.splitlines()[-1] == f"{example}\t{text}"

    wav, rate = sf.read(example, dtype="float32")
    pcm = (np.clip(wav, -1, 1) * 32767).round().astype("<i2").tobytes()
    by_stdin = subprocess.run([*cli, "-"], input=pcm, capture_output=True, timeout=300,
                              cwd=REPO_ROOT)
    assert by_stdin.returncode == 0, by_stdin.stderr[-2000:]
    assert by_stdin.stdout.decode().splitlines()[-1].startswith("-\t")


def test_benchmark_on_the_trained_runs(streaming_runs, tmp_path):
    """``benchmarks/streaming.py`` end to end on both runs, tiny settings:
    its streamed WER is the recipe's chunk-masked WER of the same setting."""
    out = tmp_path / "bench"
    runs = [str(streaming_runs[yaml]) for yaml in sorted(EXTRA)]
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "streaming.py"), "--runs", *runs,
         "--chunk-ms", "320", "640", "--left-context-chunks", "all", "4",
         "--max-utterances", "3", "--minutes", "0.02", "0.04", "--memory-utterances", "2",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "streaming.json").read_text())
    rows = data["rows"]
    assert len(rows) == 2 * 2 * 2 * 2  # runs x chunks x left contexts x sets
    for row in rows:
        assert row["max_abs_diff"] < 1e-3
        if row["recipe_WER"] is not None and row["utterances"] >= 1:
            assert row["WER"] >= 0
    assert len(data["ages"]) == 2 * 2 * 2  # runs x left contexts x ages
    for name in ("streaming.csv", "age.csv", "report.md", "wer_latency.png"):
        assert (out / name).is_file(), name
