"""Streaming recognition: accuracy against latency, speed, and memory and
compute against the stream's age, SummaryMixing against the MHSA Conformer.

For each trained run of the CTC recipe (``--runs``: the streaming YAMLs,
``conformer_summarymixing_streaming_ctc`` and ``conformer_streaming_ctc``),
each chunk length (``--chunk-ms``) and each left context
(``--left-context-chunks``, in chunks; ``all``: unlimited), every utterance
of the run's test sets (in-domain ``save/test-clean.csv`` and the Common
Voice test, out of distribution) is streamed through
`speechbrain_ee.inference.streaming.StreamingTranscriber` chunk by chunk,
on ``--threads`` CPU threads (1 by default). Per setting:

- ``WER`` per test set (greedy CTC, as the stream emitted it) and the
  recipe's own chunk-masked WER of the same setting where the run scored it
  (``recipe_WER``: the two agree, up to utterances that Fbank's loudness
  clip treats differently);
- ``rtf``: compute time over audio time;
- latency: ``algorithmic_ms`` (the chunk plus the front end's look-ahead:
  how long the first sample of a chunk waits for the chunk to be complete)
  and ``latency_ms_median`` / ``latency_ms_p95``: that plus the compute
  time of the chunk (median and 95th percentile over all chunks);
- ``max_abs_diff``: on the first ``--exact-utterances`` utterances, the
  largest difference between the streamed log-probabilities and the model's
  chunk-masked pass of the whole utterance (the exactness of the streaming
  path: about 1e-5).

Memory and compute against the stream's age: per run and left context, at
``--memory-chunk-ms``, one stream of synthetic long audio (the in-domain
test utterances one after another, cycled) runs in a fresh process for
``max(--minutes)`` minutes; at each of ``--minutes`` it reports the
process's RSS (`speechbrain_ee.analysis.timing.current_rss_bytes`), the
size of the stream's state (bytes of its tensors) and the median compute
time of the chunks of the minute before. SummaryMixing's state is constant
(running sums); SpeechBrain's MHSA Conformer keeps the frames of its left
context (with ``all``: every frame so far, and its ``forward_streaming``
recomputes attention over all of them for every chunk, so time and memory
grow with the square of the age: such a stream stops at
``--unlimited-attention-minutes``, the later ages marked ``skipped``).

Writes ``streaming.csv`` (one row per run, chunk, left context and test
set), ``age.csv``, ``streaming.json`` (both, and the command),
``report.md`` and ``wer_latency.png`` (in-domain WER against median
latency, one line per run and left context) into ``--out``.

Usage::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/streaming.py \\
        --runs results/conformer_summarymixing_streaming_ctc/1234 \\
               results/conformer_streaming_ctc/1234 \\
        --chunk-ms 160 320 640 1280 --left-context-chunks all 4 \\
        --minutes 1 10 60 --out benchmarks/out/streaming

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
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.analysis import experiment
from speechbrain_ee.analysis.timing import current_rss_bytes
from speechbrain_ee.decoding.ctc import word_errors
from speechbrain_ee.inference.streaming import StreamingTranscriber
from speechbrain_ee.lobes.contract import linear_time
from speechbrain_ee.lobes.streaming import chunk_label

SCRIPT = Path(__file__).resolve()


def parse_left(value):
    """``all`` -> None, else a count of chunks.

    Example
    -------
    >>> parse_left("all"), parse_left("4")
    (None, 4)
    """
    return None if value in ("all", "none", "None") else int(value)


def load_transcriber(run):
    """The run's model as a `StreamingTranscriber`, with its hyperparameters."""
    loaded = experiment.load_model(str(run))
    model = loaded.model.eval()
    return StreamingTranscriber(model, loaded.compute_features, loaded.normalize,
                                loaded.tokenizer, loaded.blank_index,
                                loaded.sample_rate), loaded.hparams


def utterances(csv_path, hparams, limit=None):
    """``(id, waveform [samples], reference words)`` of a test CSV, shortest
    first (``limit``: the first ones)."""
    for ids, wavs, wav_lens, refs in experiment.csv_batches(csv_path, hparams, 1, "cpu",
                                                 features=False, limit=limit):
        length = int(round(float(wav_lens[0]) * wavs.shape[1]))
        yield ids[0], wavs[0, :length], refs[0]


def state_bytes(obj, seen=None):
    """Bytes of the tensors a streaming state holds (dataclasses, lists,
    deques, dicts).

    Example
    -------
    >>> state_bytes({"a": torch.zeros(4), "b": [torch.zeros(2, dtype=torch.float64)]})
    32
    """
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if torch.is_tensor(obj):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(state_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)) or type(obj).__name__ == "deque":
        return sum(state_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__"):
        return state_bytes(vars(obj), seen)
    return 0


@torch.no_grad()
def stream_utterance(asr, wav, config):
    """Streams one utterance chunk by chunk.

    Returns
    -------
    text : str
    log_probs : torch.Tensor
        ``[frames, vocab]``, the streamed log-probabilities.
    seconds : list of float
        Compute time of each chunk (the last one flushes the stream).
    """
    context = asr.make_streaming_context(config)
    size = asr.get_chunk_size_frames(config)
    pieces = list(wav.split(size)) or [wav]
    texts, outputs, seconds = [], [], []
    for n, chunk in enumerate(pieces):
        start = time.perf_counter()
        log_probs = asr.encode_chunk(context, chunk.unsqueeze(0),
                                     end_of_stream=n == len(pieces) - 1)
        texts.append(asr.decode_chunk(context, log_probs)[0])
        seconds.append(time.perf_counter() - start)
        if log_probs is not None:
            outputs.append(log_probs[0])
    return "".join(texts).strip(), torch.cat(outputs) if outputs else None, seconds


@torch.no_grad()
def masked_pass(asr, wav, config):
    """The model's chunk-masked pass over a whole utterance ``[frames, vocab]``."""
    feats = asr.front_end.module.compute_features(wav.unsqueeze(0))
    feats = asr.front_end.module.normalize(feats, torch.ones(1))
    return asr.model(feats, None, dynchunktrain_config=config).output[0]


def percentile(values, q):
    """The ``q``-th percentile.

    Example
    -------
    >>> percentile([1, 2, 3, 4, 100], 50)
    3.0
    """
    return float(np.percentile(np.asarray(values, dtype=float), q))


def measure_setting(asr, sets, config, exact_utterances=2):
    """WER per test set, speed, latency and exactness of one streaming
    setting.

    Arguments
    ---------
    asr : StreamingTranscriber
        The model.
    sets : dict
        Test set name -> list of ``(id, waveform, reference words)``.
    config : DynChunkTrainConfig
        Chunk size and left context.
    exact_utterances : int
        Utterances (the first of each set) whose streamed log-probabilities
        are compared with the chunk-masked pass.

    Returns
    -------
    dict
        ``per_set`` (name -> WER, words, utterances), ``rtf``,
        ``algorithmic_ms``, ``compute_ms_median``, ``compute_ms_p95``,
        ``latency_ms_median``, ``latency_ms_p95``, ``max_abs_diff``,
        ``chunks``.
    """
    rate = asr.sample_rate
    algorithmic = 1000.0 * (asr.get_chunk_size_frames(config)
                            + asr.front_end.lookahead_samples()) / rate
    compute, audio_seconds, diffs, per_set = [], 0.0, [], {}
    for name, items in sets.items():
        errors = words = 0
        for n, (_, wav, ref) in enumerate(items):
            text, log_probs, seconds = stream_utterance(asr, wav, config)
            compute += seconds
            audio_seconds += wav.shape[0] / rate
            errors += word_errors(text.split(), ref)
            words += len(ref)
            if n < exact_utterances and log_probs is not None:
                reference = masked_pass(asr, wav, config)
                diffs.append(float((log_probs - reference).abs().max())
                             if log_probs.shape == reference.shape else float("inf"))
        per_set[name] = {"WER": 100.0 * errors / max(1, words), "words": words,
                         "utterances": len(items)}
    compute_ms = [1000.0 * s for s in compute] or [0.0]
    return {
        "per_set": per_set,
        "rtf": sum(compute) / max(audio_seconds, 1e-9),
        "algorithmic_ms": algorithmic,
        "compute_ms_median": percentile(compute_ms, 50),
        "compute_ms_p95": percentile(compute_ms, 95),
        "latency_ms_median": algorithmic + percentile(compute_ms, 50),
        "latency_ms_p95": algorithmic + percentile(compute_ms, 95),
        "max_abs_diff": max(diffs) if diffs else None,
        "chunks": len(compute),
    }


@torch.no_grad()
def age_case(asr, waves, config, minutes, progress=None, max_minutes=None):
    """One stream of the waveforms cycled, for ``max(minutes)`` minutes.

    Arguments
    ---------
    asr : StreamingTranscriber
        The model.
    waves : list of torch.Tensor
        Utterances to cycle through (the synthetic long audio, made chunk
        by chunk: never held whole).
    config : DynChunkTrainConfig
        Chunk size and left context.
    minutes : list of float
        Stream ages to report at.
    progress : callable, optional
        Called with each row as it is measured.
    max_minutes : float, optional
        Ages beyond it are not streamed (rows with ``status`` skipped).

    Returns
    -------
    list of dict
        Per age: ``minutes``, ``rss_bytes``, ``state_bytes``,
        ``compute_ms_median`` (the chunks of the minute before, or since
        the previous age when closer), ``chunks``.
    """
    rate = asr.sample_rate
    size = asr.get_chunk_size_frames(config)
    marks = sorted(minutes)
    window = min(60.0, 60.0 * min(b - a for a, b in zip([0.0] + marks, marks)))
    context = asr.make_streaming_context(config)
    buffer, n_wave, received, rows, recent = torch.zeros(0), 0, 0, [], []
    for mark in marks:
        if max_minutes is not None and mark > max_minutes:
            rows.append({"minutes": mark, "status": "skipped", "rss_bytes": None,
                         "state_bytes": None, "compute_ms_median": None, "chunks": None})
            continue
        while received < mark * 60 * rate:
            while buffer.shape[0] < size:
                buffer = torch.cat((buffer, waves[n_wave % len(waves)]))
                n_wave += 1
            chunk, buffer = buffer[:size], buffer[size:]
            start = time.perf_counter()
            asr.transcribe_chunk(context, chunk.unsqueeze(0))
            seconds = time.perf_counter() - start
            received += size
            recent.append((received / rate, seconds))
        age = received / rate
        last = [s for t, s in recent if t > age - window]
        recent = [(t, s) for t, s in recent if t > age - window]
        row = {"minutes": mark, "status": "ok", "rss_bytes": current_rss_bytes(),
               "state_bytes": state_bytes(context),
               "compute_ms_median": 1000.0 * statistics.median(last) if last else None,
               "chunks": int(received // size)}
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


def run_age_case(case):
    """`age_case` of a run (a fresh process's work): ``case`` holds
    ``run``, ``chunk_ms``, ``left``, ``minutes``, ``utterances``,
    ``threads``, ``unlimited_attention_minutes``."""
    torch.set_num_threads(case["threads"])
    asr, hparams = load_transcriber(case["run"])
    in_domain = next(iter(experiment.test_sets(hparams).values()))
    waves = [w for _, w, _ in utterances(in_domain, hparams, case["utterances"])]
    config = asr.config(case["chunk_ms"], case["left"])
    quadratic = case["left"] is None and not linear_time(asr.model)
    return age_case(asr, waves, config, case["minutes"],
                    max_minutes=case["unlimited_attention_minutes"] if quadratic else None)


def age_rows(run, name, chunk_ms, left, minutes, utterances_, threads, subprocesses=True,
             unlimited_attention_minutes=1.0):
    """Rows of `run_age_case`, in a fresh process (clean RSS) or here."""
    case = {"run": str(run), "chunk_ms": chunk_ms, "left": left, "minutes": minutes,
            "utterances": utterances_, "threads": threads,
            "unlimited_attention_minutes": unlimited_attention_minutes}
    if subprocesses:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        proc = subprocess.run([sys.executable, str(SCRIPT), "--age-case", json.dumps(case)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: the stream-age case failed: {proc.stderr[-2000:]}")
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    else:
        rows = run_age_case(case)
    first = rows[0]
    for row in rows:
        row.update(model=name, chunk_ms=chunk_ms, left=_left_name(left))
        row["rss_vs_first"] = (row["rss_bytes"] / first["rss_bytes"]
                               if row["rss_bytes"] and first["rss_bytes"] else None)
        row["compute_vs_first"] = (row["compute_ms_median"] / first["compute_ms_median"]
                                   if row["compute_ms_median"] and first["compute_ms_median"]
                                   else None)
    return rows


def _left_name(left):
    return "all" if left is None else left


def write_csv(rows, path):
    """Rows (dicts) to a CSV with the union of their keys."""
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def markdown(rows, columns):
    """A Markdown table of ``columns``.

    Example
    -------
    >>> print(markdown([{"a": 1.23456, "b": None}], ["a", "b"]))
    | a | b |
    |---|---|
    | 1.235 |  |
    """
    def cell(value):
        if value is None:
            return ""
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows, in_domain, path):
    """In-domain WER against median latency, one line per model and left
    context."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    lines = {}
    for row in rows:
        if row["set"] == in_domain:
            lines.setdefault((row["model"], row["left"]), []).append(
                (row["latency_ms_median"], row["WER"]))
    for (model, left), points in sorted(lines.items(), key=str):
        points.sort()
        ax.plot(*zip(*points), marker="o", label=f"{model} (left {left})")
    ax.set_xlabel("latency, median (ms): chunk + look-ahead + compute")
    ax.set_ylabel(f"WER on {in_domain} (%)")
    ax.set_title("Streaming: WER against latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", default=[],
                        help="output folders of runs of the streaming CTC YAMLs")
    parser.add_argument("--chunk-ms", nargs="+", type=float,
                        default=[160, 320, 640, 1280])
    parser.add_argument("--left-context-chunks", nargs="+", type=parse_left,
                        default=[None, 4], help="past chunks seen; all: unlimited")
    parser.add_argument("--max-utterances", type=int, default=None,
                        help="per test set, the first (shortest) ones; default: all")
    parser.add_argument("--exact-utterances", type=int, default=2,
                        help="utterances per set checked against the chunk-masked pass")
    parser.add_argument("--minutes", nargs="*", type=float, default=[1, 10, 60],
                        help="stream ages of the memory and compute report")
    parser.add_argument("--memory-chunk-ms", type=float, default=640)
    parser.add_argument("--memory-utterances", type=int, default=50,
                        help="in-domain utterances cycled into the long stream")
    parser.add_argument("--unlimited-attention-minutes", type=float, default=1.0,
                        help="self-attention with unlimited left context: longest "
                        "stream of the age report (its cost grows with the square "
                        "of the age)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-subprocess", action="store_true",
                        help="stream-age cases in this process (RSS less clean)")
    parser.add_argument("--out", default="benchmarks/out/streaming")
    parser.add_argument("--age-case", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    """Runs the benchmark; returns its results (rows, age rows, files)."""
    args = parse_args(argv)
    if args.age_case:
        print(json.dumps(run_age_case(json.loads(args.age_case))))
        return 0
    if not args.runs:
        raise SystemExit("give --runs: output folders of the streaming CTC YAMLs")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, ages, in_domain = [], [], None
    for run in args.runs:
        asr, hparams = load_transcriber(run)
        name = Path(run).name if not Path(run).name.isdigit() else Path(run).parent.name
        named = experiment.test_sets(hparams)
        in_domain = in_domain or next(iter(named))
        sets = {set_name: list(utterances(path, hparams, args.max_utterances))
                for set_name, path in named.items() if os.path.isfile(path)}
        results_path = Path(run) / "results.json"
        recipe = (json.loads(results_path.read_text(encoding="utf-8"))
                  if results_path.is_file() else {})
        for left in args.left_context_chunks:
            for chunk_ms in args.chunk_ms:
                config = asr.config(chunk_ms, left)
                label = chunk_label(config, asr.frame_seconds)
                stats = measure_setting(asr, sets, config, args.exact_utterances)
                for set_name, scores in stats["per_set"].items():
                    row = {"model": name, "chunk_ms": chunk_ms, "left": _left_name(left),
                           "set": set_name, "WER": scores["WER"],
                           "recipe_WER": recipe.get(set_name, {}).get(f"WER_{label}"),
                           "full_context_WER": recipe.get(set_name, {}).get("WER"),
                           "utterances": scores["utterances"]}
                    row.update({k: v for k, v in stats.items() if k != "per_set"})
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        for left in args.left_context_chunks:
            if args.minutes:
                ages += age_rows(run, name, args.memory_chunk_ms, left, args.minutes,
                                 args.memory_utterances, args.threads,
                                 subprocesses=not args.no_subprocess,
                                 unlimited_attention_minutes=args.unlimited_attention_minutes)
    files = {"csv": out / "streaming.csv", "age_csv": out / "age.csv",
             "json": out / "streaming.json", "report": out / "report.md",
             "png": out / "wer_latency.png"}
    write_csv(rows, files["csv"])
    if ages:
        write_csv(ages, files["age_csv"])
    command = " ".join(["benchmarks/streaming.py"] + (argv if argv is not None else sys.argv[1:]))
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    files["json"].write_text(json.dumps({"command": command, "date": stamp,
                                         "machine": platform.machine(),
                                         "threads": args.threads, "rows": rows,
                                         "ages": ages}, indent=2), encoding="utf-8")
    report = [f"Measured {stamp} on {platform.machine()} CPU, {args.threads} thread(s): "
              f"`{command}`", "",
              markdown(rows, ["model", "set", "chunk_ms", "left", "WER", "recipe_WER",
                              "full_context_WER", "rtf", "latency_ms_median",
                              "latency_ms_p95", "max_abs_diff"]), ""]
    if ages:
        report += [markdown(ages, ["model", "left", "minutes", "status", "rss_bytes",
                                   "rss_vs_first",
                                   "state_bytes", "compute_ms_median",
                                   "compute_vs_first"]), ""]
    files["report"].write_text("\n".join(report), encoding="utf-8")
    plot(rows, in_domain, files["png"])
    print("\n".join(report))
    return {"rows": rows, "ages": ages, "files": files, "report": "\n".join(report)}


if __name__ == "__main__":
    result = main()
    sys.exit(result if isinstance(result, int) else 0)
