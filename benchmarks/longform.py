"""Long-form transcription: peak memory against the recording's length, and
WER against utterance-by-utterance transcription of the same speech.

Recordings are built from a LibriSpeech-layout test set: its utterances one
after another with pauses between them (0.5-1.5 s), and in the middle a
stretch without pauses (utterances trimmed of their silences and joined end
to end; ``--stretch-seconds``, at most a third of the recording), cycling
through the test set until the length is reached.

Per model (a run of the CTC recipe, exported to a temporary folder, or an
exported folder) and length (``--minutes``), a fresh process loads the model
and transcribes the recording long-form (`EfficientEncoderASR.
transcribe_file` with its defaults); it reports its peak RSS during the
transcription (Linux's ``VmHWM``, reset through ``/proc/self/clear_refs``
after the model is loaded; ``getrusage``'s ``ru_maxrss`` is only the fallback:
a child's starts at its parent's peak) and the increase over its RSS before.
Lengths up to ``--whole-up-to`` minutes are also transcribed whole (the
model on the whole file, as before long-form transcription), for
comparison.

WER: the whole test set once (each utterance once, the stretch included),
transcribed long-form, and each utterance file on its own; both are scored
against the references, the texts joined in order (jiwer), and against each
other.

Usage::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/longform.py \\
        --models results/leaderboard/runs/conformer_ctc \\
                 results/leaderboard/runs/conformer_summarymixing_ctc \\
        --minutes 1 10 30 60

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import csv
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from speechbrain_ee.analysis.timing import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from speechbrain_ee.dataio.audio import audio_duration, load_audio

SAMPLE_RATE = 16000


def corpus_utterances(folder):
    """``(id, path, words)`` of every utterance of a LibriSpeech-layout
    folder, in id order.

    Example
    -------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "1" / "2"
    >>> d.mkdir(parents=True)
    >>> _ = (d / "1-2.trans.txt").write_text("1-2-0000 HELLO THERE\\n")
    >>> [(u, p.name, w) for u, p, w in corpus_utterances(d.parent.parent)]
    [('1-2-0000', '1-2-0000.flac', 'HELLO THERE')]
    """
    found = []
    for listing in sorted(Path(folder).rglob("*.trans.txt")):
        for line in listing.read_text(encoding="utf-8").splitlines():
            uid, _, words = line.strip().partition(" ")
            if uid:
                found.append((uid, listing.parent / f"{uid}.flac", words))
    return sorted(found)


def trim(wav, level=0.02):
    """The waveform without its leading and trailing silence (samples under
    ``level`` times the peak).

    Example
    -------
    >>> trim(torch.tensor([0.0, 0.0, 0.5, -1.0, 0.0])).tolist()
    [0.5, -1.0]
    """
    loud = torch.nonzero(wav.abs() > level * wav.abs().max()).flatten()
    return wav[int(loud[0]):int(loud[-1]) + 1] if len(loud) else wav


def write_recording(utterances, path, seconds=None, stretch_seconds=0.0,
                    pauses=(0.5, 1.5), seed=0):
    """Writes a long recording (16 kHz FLAC) block by block.

    Arguments
    ---------
    utterances : list of tuple
        ``(id, path, words)`` (`test_utterances`).
    path : str or Path
        The file to write.
    seconds : float, optional
        Length to reach (cycling through the utterances); None: each
        utterance once.
    stretch_seconds : float
        Length of the stretch without pauses, in the middle (at most a third
        of the recording).
    pauses : tuple of float
        Range of the pauses between utterances (uniform).
    seed : int
        Seed of the pause lengths.

    Returns
    -------
    list of dict
        Per utterance written: ``id``, ``words``, ``start``, ``end``,
        ``stretch`` (in the stretch without pauses).
    """
    rng = np.random.default_rng(seed)
    target = seconds
    if target is None:
        target = sum(audio_duration(p) for _, p, _ in utterances) + len(utterances) * np.mean(pauses)
    stretch_seconds = min(stretch_seconds, target / 3)
    stretch_start = (target - stretch_seconds) / 2
    written, t, i = [], 0.0, 0
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, format="FLAC", subtype="PCM_16") as out:
        while (i < len(utterances)) if seconds is None else (t < seconds):
            uid, wav_path, words = utterances[i % len(utterances)]
            wav = load_audio(str(wav_path), SAMPLE_RATE)
            stretch = stretch_seconds > 0 and stretch_start <= t < stretch_start + stretch_seconds
            previous_in_stretch = bool(written) and written[-1]["stretch"]
            if stretch:
                wav = trim(wav)
            if written and not (stretch and previous_in_stretch):
                pause = rng.uniform(*pauses)
                out.write(np.zeros(int(pause * SAMPLE_RATE), dtype="float32"))
                t += int(pause * SAMPLE_RATE) / SAMPLE_RATE
            out.write(wav.numpy())
            written.append({"id": uid, "words": words, "start": round(t, 3),
                            "end": round(t + len(wav) / SAMPLE_RATE, 3), "stretch": stretch})
            t += len(wav) / SAMPLE_RATE
            i += 1
    return written


# -- the child process: one measurement ------------------------------------


def run_case(case):
    """In the child: loads the model, transcribes, measures.

    ``case``: ``model`` (exported folder), ``audio`` (a file), ``mode``:
    ``longform`` (with ``options``, `LongFormOptions` fields), ``whole``
    (the model on the whole file) or ``spans`` (each of ``spans``, ``[start,
    end]`` seconds of the file, transcribed on its own: utterance by
    utterance).
    """
    from speechbrain_ee.dataio.audio_stream import read_span
    from speechbrain_ee.inference.longform import LongFormOptions, fixed_mmap_threshold
    from speechbrain_ee.inference.transcribe import load_model

    if case.get("fixed_mmap", True):  # as `speechbrain-ee transcribe` does
        fixed_mmap_threshold()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with tempfile.TemporaryDirectory() as savedir:
        asr = load_model(case["model"], savedir=savedir)
    options = LongFormOptions(**case.get("options", {}))
    if case["mode"] == "longform":
        asr.vad  # loaded before the measurement: a constant, not the input's
    before = current_rss_bytes()
    was_reset = reset_peak_rss()
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if case["mode"] == "spans":
        results = [asr.transcribe_batch(read_span(case["audio"], s, e, asr.sample_rate)[None],
                                        torch.tensor([1.0]))[0] for s, e in case["spans"]]
    else:
        results = [asr.transcribe_file(case["audio"], long_form=options
                                       if case["mode"] == "longform" else False)]
    wall = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    peak = peak_rss_bytes()
    segments = [s for r in results for s in r.segments]
    return {
        "peak_mb": peak / 2**20,
        "increase_mb": None if before is None else (peak - before) / 2**20,
        "measure": "VmHWM reset after loading" if was_reset else "ru_maxrss (process)",
        "seconds": sum(r.seconds for r in results),
        "wall_s": wall,
        "cpu_s": cpu,
        "texts": [r.text for r in results],
        "segments": [[s.start, s.end, s.text] for s in segments],
        "cap_s": asr.long_form_options(options).max_segment_seconds,
    }


def measure(model, audio, mode="longform", options=None, spans=None, fixed_mmap=True,
            timeout=None):
    """Runs one case in a fresh process (this script with ``--case``).

    Arguments
    ---------
    model : str or Path
        Exported model folder.
    audio : str or Path
        The recording.
    mode : str
        ``longform``, ``whole`` or ``spans`` (see `run_case`).
    options : dict, optional
        `LongFormOptions` fields.
    spans : list, optional
        ``[start, end]`` of each utterance (``mode="spans"``).
    fixed_mmap : bool
        Call `fixed_mmap_threshold` first, as ``speechbrain-ee
        transcribe`` does (False: glibc's defaults, as a library user's
        process).
    timeout : float, optional
        Seconds.

    Returns
    -------
    dict
        The child's report (see `run_case`): ``peak_mb``, ``increase_mb``,
        ``seconds``, ``wall_s``, ``cpu_s``, ``texts``, ``segments``
        (``[start, end, text]``), ``cap_s``.
    """
    case = {"model": str(model), "mode": mode, "options": options or {},
            "audio": str(audio), "spans": spans or [], "fixed_mmap": fixed_mmap}
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    proc = subprocess.run([sys.executable, __file__, "--case", json.dumps(case)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"case {mode} {audio} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the parent: recordings, cases, tables ----------------------------------


def exported(model, folder):
    """An exported folder for ``model`` (a run folder is exported into
    ``folder``; an exported one is used as is)."""
    model = Path(model)
    if (model / "export.json").is_file():
        return model
    from speechbrain_ee.inference.export import export_run

    target = Path(folder) / model.name
    export_run(model, target, check=False)
    return target


def word_error_rate(reference, hypothesis):
    """WER in % of joined texts (jiwer).

    Example
    -------
    >>> word_error_rate("A B C D", "A X C")
    50.0
    """
    import jiwer

    if not reference.split():
        return 0.0 if not hypothesis.split() else 100.0
    return 100 * jiwer.wer(reference, hypothesis or "")


def memory_rows(models, utterances, minutes, work, whole_up_to, stretch_seconds):
    """Peak RSS of long-form transcription per model and length: with the
    command's fixed mmap threshold and with glibc's defaults; the whole file
    at once up to ``whole_up_to`` minutes."""
    rows = []
    for m in minutes:
        audio = Path(work) / f"recording_{m:g}min.flac"
        if not audio.is_file():
            write_recording(utterances, audio, seconds=m * 60, stretch_seconds=stretch_seconds)
        for name, model in models.items():
            long_form = measure(model, audio)
            default_heap = measure(model, audio, fixed_mmap=False)
            segments = long_form["segments"]
            row = {"model": name, "minutes": m, "cap_s": long_form["cap_s"],
                   "segments": len(segments),
                   "longest_segment_s": round(max(e - s for s, e, _ in segments), 1),
                   "peak_mb": round(long_form["peak_mb"]),
                   "increase_mb": round(long_form["increase_mb"] or 0),
                   "peak_mb_glibc_default": round(default_heap["peak_mb"]),
                   "cpu_rtf": round(long_form["cpu_s"] / long_form["seconds"], 4),
                   "cpu_rtf_glibc_default": round(default_heap["cpu_s"] / long_form["seconds"], 4),
                   "whole_file_peak_mb": None}
            if m <= whole_up_to:
                row["whole_file_peak_mb"] = round(measure(model, audio, "whole")["peak_mb"])
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def character_error_rate(reference, hypothesis):
    """CER in % of joined texts (jiwer).

    Example
    -------
    >>> character_error_rate("AB CD", "AB CX")
    20.0
    """
    import jiwer

    if not reference:
        return 0.0 if not hypothesis else 100.0
    return 100 * jiwer.cer(reference, hypothesis or "")


def split_by_part(written, long_form, one_by_one):
    """References and both transcriptions, joined, for the parts of the
    recording with pauses and without (the stretch), and all of it.

    Arguments
    ---------
    written : list of dict
        `write_recording`'s list.
    long_form : list
        ``[start, end, text]`` of the long-form segments.
    one_by_one : list of str
        One text per utterance.

    Returns
    -------
    dict
        Part -> ``(reference, long-form text, utterance-by-utterance text)``.

    Example
    -------
    >>> w = [{"words": "A", "start": 0, "end": 1, "stretch": False},
    ...      {"words": "B", "start": 2, "end": 3, "stretch": True},
    ...      {"words": "C", "start": 3, "end": 4, "stretch": True}]
    >>> split_by_part(w, [[0, 1.2, "A"], [1.8, 3.5, "B"], [3.5, 4, "X"]],
    ...               ["A", "B", "C"])["without pauses"]
    ('B C', 'B X', 'B C')
    """
    stretch = [w for w in written if w["stretch"]]
    first, last = (stretch[0]["start"], stretch[-1]["end"]) if stretch else (0, -1)

    def in_stretch(start, end):
        return first - 0.5 <= (start + end) / 2 <= last + 0.5

    parts = {}
    for name, keep in (("with pauses", False), ("without pauses", True), ("all", None)):
        chosen = [i for i, w in enumerate(written) if keep is None or w["stretch"] == keep]
        parts[name] = (
            " ".join(written[i]["words"] for i in chosen),
            " ".join(t for s, e, t in long_form if keep is None or in_stretch(s, e) == keep),
            " ".join(one_by_one[i] for i in chosen))
    return parts


def wer_rows(models, utterances, work, stretch_seconds, caps=()):
    """WER of long-form and utterance-by-utterance transcription of the same
    speech (each utterance's span of the recording on its own), per model,
    segment cap (None: the model's default) and part of the recording."""
    audio = Path(work) / "recording_testset.flac"
    written = write_recording(utterances, audio, stretch_seconds=stretch_seconds)
    spans = [[w["start"], w["end"]] for w in written]
    rows = []
    for name, model in models.items():
        one_by_one = measure(model, audio, "spans", spans=spans)["texts"]
        for cap in [None, *caps]:
            long_form = measure(model, audio, options={"max_segment_seconds": cap})
            parts = split_by_part(written, long_form["segments"], one_by_one)
            for part, (reference, long_text, utt_text) in parts.items():
                row = {"model": name, "cap_s": long_form["cap_s"], "part": part,
                       "minutes": round(sum(w["end"] - w["start"] for w in written
                                            if part == "all"
                                            or w["stretch"] == (part == "without pauses"))
                                        / 60, 1),
                       "wer_utterances": round(word_error_rate(reference, utt_text), 2),
                       "wer_longform": round(word_error_rate(reference, long_text), 2),
                       "cer_utterances": round(character_error_rate(reference, utt_text), 2),
                       "cer_longform": round(character_error_rate(reference, long_text), 2),
                       "longform_vs_utterances_cer": round(
                           character_error_rate(utt_text, long_text), 2)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def markdown(rows, columns):
    """A markdown table of ``rows`` (dicts) with ``columns``.

    Example
    -------
    >>> print(markdown([{"a": 1, "b": None}], ["a", "b"]))
    | a | b |
    |---|---|
    | 1 | - |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join("-" if row.get(c) is None else str(row[c])
                                       for c in columns) + " |")
    return "\n".join(lines)


def write_csv(rows, path):
    """Writes dict rows as CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=[
        "results/leaderboard/runs/conformer_ctc",
        "results/leaderboard/runs/conformer_summarymixing_ctc"],
        help="CTC-recipe runs or exported folders")
    parser.add_argument("--data", default="corpora/mini-librispeech/test-clean",
                        help="a LibriSpeech-layout test set")
    parser.add_argument("--minutes", nargs="*", type=float, default=[1, 10, 30, 60])
    parser.add_argument("--whole-up-to", type=float, default=1.0,
                        help="also transcribe recordings up to this many minutes whole")
    parser.add_argument("--stretch-seconds", type=float, default=150.0,
                        help="the stretch without pauses (at most a third of a recording)")
    parser.add_argument("--no-wer", action="store_true")
    parser.add_argument("--wer-caps", nargs="*", type=float, default=[],
                        help="segment caps to score besides each model's default")
    parser.add_argument("--out", default="benchmarks/out/longform")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    utterances = corpus_utterances(args.data)
    with tempfile.TemporaryDirectory() as work:
        models = {Path(m).name: exported(m, work) for m in args.models}
        memory = memory_rows(models, utterances, args.minutes, work, args.whole_up_to,
                             args.stretch_seconds)
        wer = [] if args.no_wer else wer_rows(models, utterances, work, args.stretch_seconds,
                                              args.wer_caps)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    report = [f"Measured {stamp} on {platform.machine()} CPU, "
              f"{os.environ.get('OMP_NUM_THREADS', '1')} thread(s): "
              f"`{' '.join(['benchmarks/longform.py'] + (argv or sys.argv[1:]))}`", ""]
    if memory:
        write_csv(memory, out / "memory.csv")
        report += [markdown(memory, list(memory[0])), ""]
    if wer:
        write_csv(wer, out / "wer.csv")
        report += [markdown(wer, list(wer[0])), ""]
    (out / "report.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
