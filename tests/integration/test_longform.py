"""Integration: long recordings (test utterances with pauses between them
and a stretch without pauses) transcribed long-form by exported models of
the tiny recipe runs, each in a fresh process: the peak memory stays flat as
the recording doubles, while transcribing the file whole grows; the command
line gives each segment's times (JSON) and subtitles. With the leaderboard's
trained models (``results/leaderboard/runs``, skipped when absent: the tiny
models write nothing yet) the long-form transcript holds the words of
utterance-by-utterance transcription of the same speech, in order.

``-m slow`` adds a 30-minute recording."""

import importlib.util
import json
import sys

import pytest

from speechbrain_ee.cli import main
from speechbrain_ee.inference.export import export_run

from .recipe_runs import REPO_ROOT

BENCHMARK = REPO_ROOT / "benchmarks" / "longform.py"
LEADERBOARD = REPO_ROOT / "results" / "leaderboard" / "runs"
TEST_CLEAN = REPO_ROOT / "corpora" / "mini-librispeech" / "test-clean"
FLAT_MB = 40  # peak RSS may grow by at most this much when the length doubles


@pytest.fixture(scope="module")
def bench():
    """benchmarks/longform.py, imported (recordings, measurement)."""
    spec = importlib.util.spec_from_file_location("longform_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_models(blank_skip_run, composed_run, tmp_path_factory):
    """Exports of the tiny Conformer (self-attention) and SummaryMixing runs."""
    root = tmp_path_factory.mktemp("longform_models")
    models = {"conformer": blank_skip_run, "summarymixing": composed_run}
    for name, run in models.items():
        export_run(run, root / name, check=False)
    return {name: root / name for name in models}


@pytest.fixture(scope="module")
def recordings(bench, tiny_corpora, tmp_path_factory):
    """Minutes -> a recording of the tiny test set, cycled."""
    utterances = bench.corpus_utterances(tiny_corpora["librispeech"] / "test-clean")
    root = tmp_path_factory.mktemp("longform_audio")
    paths = {}
    for minutes in (2, 4):
        paths[minutes] = root / f"{minutes}min.flac"
        bench.write_recording(utterances, paths[minutes], seconds=minutes * 60,
                              stretch_seconds=40)
    return paths


@pytest.mark.parametrize("name", ["conformer", "summarymixing"])
def test_peak_memory_stays_flat_as_the_recording_doubles(bench, tiny_models, recordings,
                                                         name):
    short = bench.measure(tiny_models[name], recordings[2])
    long = bench.measure(tiny_models[name], recordings[4])
    assert long["seconds"] > 1.9 * short["seconds"]
    assert long["peak_mb"] <= short["peak_mb"] + FLAT_MB, (short, long)
    for report in (short, long):
        segments = report["segments"]
        assert len(segments) > 5
        assert all(e - s <= report["cap_s"] + 1e-6 for s, e, _ in segments)
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(segments, segments[1:]))
    if name == "conformer":  # the measure sees growth: the whole file at once
        whole = bench.measure(tiny_models[name], recordings[2], "whole")
        assert whole["peak_mb"] > long["peak_mb"] + 300, (whole, long)


def test_command_line_gives_segment_times_and_subtitles(tiny_models, recordings, tmp_path,
                                                        capsys):
    model = str(tiny_models["summarymixing"])
    audio = str(recordings[2])
    assert main(["transcribe", audio, "--model", model, "--format", "json",
                 "--max-segment-seconds", "10"]) == 0
    line = json.loads(capsys.readouterr().out)
    times = [(s["start"], s["end"]) for s in line["segments"]]
    assert len(times) > 5 and all(e - s <= 10 for s, e in times)
    assert times == sorted(times) and 0 <= times[0][0] and times[-1][1] <= line["seconds"]

    assert main(["transcribe", audio, "--model", model, "--format", "json",
                 "--long-form-above", "inf"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert [(s["start"], s["end"]) for s in line["segments"]] == [(0.0, line["seconds"])]

    out = tmp_path / "subtitles"
    assert main(["transcribe", audio, str(recordings[4]), "--model", model,
                 "--format", "vtt", "--output-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["2min.vtt", "4min.vtt"]
    assert (out / "2min.vtt").read_text().startswith("WEBVTT\n")
    assert main(["transcribe", audio, str(recordings[4]), "--model", model,
                 "--format", "srt"]) == 2
    assert "--output-dir" in capsys.readouterr().err


@pytest.mark.skipif(not (LEADERBOARD / "conformer_ctc").is_dir() or not TEST_CLEAN.is_dir(),
                    reason="needs the leaderboard's trained runs and the built-in corpus")
@pytest.mark.parametrize("run", ["conformer_ctc", "conformer_summarymixing_ctc"])
def test_trained_model_finds_the_words_in_order(bench, run, tmp_path, capsys):
    model = export_run(LEADERBOARD / run, tmp_path / run, check=False) and tmp_path / run
    utterances = bench.corpus_utterances(TEST_CLEAN)[:40]
    audio = tmp_path / "recording.flac"
    written = bench.write_recording(utterances, audio, stretch_seconds=40)
    one_by_one = bench.measure(model, audio, "spans",
                               spans=[[w["start"], w["end"]] for w in written])["texts"]
    long_form = bench.measure(model, audio)
    reference, long_text, utt_text = bench.split_by_part(
        written, long_form["segments"], one_by_one)["all"]
    assert bench.character_error_rate(utt_text, long_text) < 20
    assert (bench.word_error_rate(reference, long_text)
            < bench.word_error_rate(reference, utt_text) + 5)
    assert main(["transcribe", str(audio), "--model", str(model), "--format", "srt"]) == 0
    cues = capsys.readouterr().out.strip().split("\n\n")
    assert len(cues) > len(written) / 2 and cues[0].startswith("1\n00:00:0")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conformer", "summarymixing"])
def test_half_an_hour_in_the_memory_of_four_minutes(bench, tiny_models, recordings,
                                                     tiny_corpora, tmp_path, name):
    audio = tmp_path / "30min.flac"
    bench.write_recording(bench.corpus_utterances(tiny_corpora["librispeech"] / "test-clean"),
                          audio, seconds=30 * 60, stretch_seconds=150)
    short = bench.measure(tiny_models[name], recordings[4])
    long = bench.measure(tiny_models[name], audio)
    assert long["peak_mb"] <= short["peak_mb"] + FLAT_MB, (short, long)
