"""Blank-skip benchmark: WER, share of frames skipped and measured encoder
speed-up of a trained blank-skip model against the same model without
skipping, over a sweep of thresholds, with and without spike extension.

It loads the output folder of a CTC-recipe run whose model has a blank-skip
stage (``hparams/*blankskip*.yaml``) the way ``speechbrain-ee exit-tradeoff``
does (`speechbrain_ee.analysis.experiment.load_experiment`), and on each test
set (the run's own: in-domain and ``cv-test``, or ``--test-csv``):

* accuracy: every (threshold, spike width) setting decodes the whole set
  with greedy CTC (the model at that skip threshold, skipped frames really
  removed from layers K+1..L); the reference is the model without skipping
  (``forward_full``);
* speed: `speechbrain_ee.analysis.timing.measure_speed` times every
  setting and the model without skipping, whole and from the front end's
  output, in turn in each of ``--repeats`` rounds of one run; a speed-up
  is the median over the rounds of the ratio of the two neighbouring
  timings, with its spread (lowest and highest round), so it comes from
  the same machine load. ``encoder_speedup`` leaves the front end out (the
  layers and heads: what skipping changes), ``speedup`` is the whole
  model. For a quiet measurement run it with one thread
  (``OMP_NUM_THREADS=1``) and ``--repeats 7`` or more.

Writes ``blank_skip_<set>.csv``, ``summary.json`` and ``blank_skip.png``
(WER against the encoder speed-up, and the skipped share against the
threshold) to ``--out`` (default ``<run>/blank_skip``) and prints a table.

Usage::

    python benchmarks/blank_skip.py results/conformer_blankskip_ctc/1234
    python benchmarks/blank_skip.py RUN --thresholds 1.0 0.99 0.9 0.5 \\
        --spike-widths 1 none --repeats 5

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import csv
import json
import os
import sys

import torch

from speechbrain_ee.analysis.experiment import csv_batches, load_experiment, test_sets
from speechbrain_ee.analysis.timing import measure_speed, medians, speedups
from speechbrain_ee.decoding.ctc import greedy_decoder, word_errors

DEFAULT_THRESHOLDS = [1.0, 0.999, 0.995, 0.99, 0.98, 0.95, 0.9, 0.8, 0.7,
                      0.6, 0.5]
COLUMNS = [
    "threshold", "spike_width", "WER", "WER_rel_increase", "skipped_share",
    "layer_compute", "seconds", "speedup", "encoder_speedup", "encoder_speedup_min",
    "encoder_speedup_max", "encoder_time_saved",
]


def parse_args(argv=None):
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "experiment",
        help="output folder of a CTC-recipe run with a blank-skip YAML "
        "(holds hyperparams.yaml and save/)")
    parser.add_argument(
        "--thresholds", type=float, nargs="+", default=DEFAULT_THRESHOLDS,
        help="blank-probability thresholds to sweep (default: %(default)s)")
    parser.add_argument(
        "--spike-widths", nargs="+", default=None,
        help="spike extensions to sweep: integers >= 0 and/or 'none' "
        "(default: the run's spike_width and none)")
    parser.add_argument(
        "--test-csv", action="append", default=[], metavar="NAME=PATH",
        help="a test CSV (ID, duration, wav, wrd); repeatable. Default: "
        "the run's own test sets (in-domain and cv-test)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed rounds (speed-ups: median of the per-round ratios); 0 skips timing")
    parser.add_argument(
        "--timing-batches", type=int, default=None,
        help="time on the first N batches only (default: all)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--out", default=None,
        help="output folder (default: <experiment>/blank_skip)")
    parser.add_argument(
        "--overrides", default="",
        help="YAML overrides for the run's hyperparams.yaml, e.g. "
        "'{data_folder: /data/LibriSpeech}'")
    return parser.parse_args(argv)


def spike_widths(values, default):
    """Parses ``--spike-widths`` (``none`` -> None); default: the run's
    width and none.

    Example
    -------
    >>> spike_widths(None, 1), spike_widths(["2", "none"], 1)
    ([1, None], [2, None])
    """
    if values is None:
        return [default, None] if default is not None else [None]
    widths = []
    for value in values:
        if str(value).lower() in ("none", "null"):
            widths.append(None)
            continue
        try:
            width = int(value)
        except ValueError:
            width = -1
        if width < 0:
            raise ValueError(
                f"--spike-widths {value!r}: expected integers >= 0 or "
                "'none'.")
        widths.append(width)
    return widths


def setting_name(threshold, spike_width):
    """The name of a setting in the timing table.

    Example
    -------
    >>> setting_name(0.95, None), setting_name(0.9, 1)
    ('t=0.95 w=none', 't=0.9 w=1')
    """
    width = "none" if spike_width is None else spike_width
    return f"t={threshold:g} w={width}"


@torch.no_grad()
def score(model, batches, decode, settings):
    """Word errors and skipped frames of every setting on a test set.

    Arguments
    ---------
    model : speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder
        In eval mode.
    batches : list
        ``(ids, feats, wav_lens, ref_words)`` per batch.
    decode : callable
        ``decode(log_probs, wav_lens) -> list of word lists``.
    settings : list of tuple
        ``(threshold, spike_width)``.

    Returns
    -------
    dict
        ``words`` (reference words), ``full_errors``, and per setting
        ``errors``, ``skipped`` and ``frames``.
    """
    counts = {s: {"errors": 0, "skipped": 0, "frames": 0} for s in settings}
    words = full_errors = 0
    for _, feats, wav_lens, refs in batches:
        words += sum(len(ref) for ref in refs)
        hyps = decode(model.forward_full(feats, wav_lens).output, wav_lens)
        full_errors += sum(word_errors(h, r) for h, r in zip(hyps, refs))
        for setting in settings:
            out = model(feats, wav_lens, skip_threshold=setting[0],
                        spike_width=setting[1])
            hyps = decode(out.output, wav_lens)
            count = counts[setting]
            count["errors"] += sum(
                word_errors(h, r) for h, r in zip(hyps, refs))
            count["skipped"] += out.skipped_frames
            count["frames"] += out.real_frames
    return {"words": max(1, words), "full_errors": full_errors,
            "settings": counts}


def sweep(model, batches, decode, settings, repeats=3, timing_batches=None):
    """The rows of one test set: accuracy and measured speed per setting.

    Arguments
    ---------
    model : speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder
        In eval mode.
    batches : list
        See `score`.
    decode : callable
        See `score`.
    settings : list of tuple
        ``(threshold, spike_width)``.
    repeats : int
        Timed rounds (0: no timing).
    timing_batches : int, optional
        Time on the first batches only.

    Returns
    -------
    dict
        ``full_WER``, ``full_seconds``, ``front_end_seconds``, ``rows``.
    """
    scores = score(model, batches, decode, settings)
    full_wer = 100.0 * scores["full_errors"] / scores["words"]
    rounds, times = {}, {}
    if repeats > 0:
        inputs = [(f, w) for _, f, w, _ in batches[:timing_batches]]
        variants = {setting_name(*s): model.inference_variant(
            skip_threshold=s[0], spike_width=s[1]) for s in settings}
        rounds = measure_speed(model, inputs, variants, repeats)
        times = medians(rounds)
    k, layers = model.skip_layer, model.num_layers
    rows = []
    for setting in settings:
        count = scores["settings"][setting]
        wer = 100.0 * count["errors"] / scores["words"]
        share = count["skipped"] / max(1, count["frames"])
        row = {
            "threshold": setting[0],
            "spike_width": "none" if setting[1] is None else setting[1],
            "WER": wer,
            "WER_rel_increase": (wer - full_wer) / max(full_wer, 1e-9),
            "skipped_share": share,
            "layer_compute": (k + (layers - k) * (1.0 - share)) / layers,
        }
        if times:
            name = setting_name(*setting)
            row["seconds"] = times[name]
            row.update(speedups(rounds, name))
            row["encoder_time_saved"] = 1.0 - 1.0 / row["encoder_speedup"]
        rows.append(row)
    return {
        "full_WER": full_wer,
        "full_seconds": times.get("full"),
        "front_end_seconds": times.get("front_end"),
        "utterances": sum(len(b[0]) for b in batches),
        "rows": rows,
    }


def write_csv(rows, path):
    """One row per setting."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def format_report(name, result):
    """A readable table of one test set."""
    lines = [
        f"== {name}: {result['utterances']} utterances; without skipping: "
        f"WER {result['full_WER']:.2f}"
        + (f", {result['full_seconds']:.2f} s (front end "
           f"{result['front_end_seconds']:.2f} s)"
           if result["full_seconds"] is not None else ""),
        f"  {'threshold':>9} {'spike':>5} {'WER':>7} {'rel.':>7} "
        f"{'skipped':>8} {'compute':>8} {'speed-up':>9} {'encoder (spread)':>20}",
    ]
    for row in result["rows"]:
        speed = (f"{row['speedup']:8.2f}x {row['encoder_speedup']:7.2f}x "
                 f"({row['encoder_speedup_min']:.2f}-{row['encoder_speedup_max']:.2f})"
                 if "speedup" in row else f"{'-':>9} {'-':>8}")
        lines.append(
            f"  {row['threshold']:9g} {row['spike_width']!s:>5} "
            f"{row['WER']:7.2f} {row['WER_rel_increase'] * 100:+6.1f}% "
            f"{row['skipped_share'] * 100:7.1f}% "
            f"{row['layer_compute'] * 100:7.1f}% {speed}")
    return "\n".join(lines)


def plot(results, path):
    """Per test set: WER against the measured encoder speed-up (top) and
    the skipped share against the threshold (bottom), one curve per spike
    width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), squeeze=False,
                             figsize=(6 * len(results), 8))
    for column, (name, result) in enumerate(results.items()):
        top, bottom = axes[0][column], axes[1][column]
        by_width = {}
        for row in result["rows"]:
            by_width.setdefault(row["spike_width"], []).append(row)
        for width, rows in by_width.items():
            label = f"spike width {width}"
            rows = sorted(rows, key=lambda r: r["threshold"])
            if all("encoder_speedup" in r for r in rows):
                top.plot([r["encoder_speedup"] for r in rows],
                         [r["WER"] for r in rows], ".-", label=label)
                for r in rows:
                    top.annotate(f"{r['threshold']:g}",
                                 (r["encoder_speedup"], r["WER"]),
                                 fontsize=6, alpha=0.7)
            bottom.plot([r["threshold"] for r in rows],
                        [r["skipped_share"] * 100 for r in rows], ".-",
                        label=label)
        full = result["full_WER"]
        top.axhline(full, color="black", linestyle="--",
                    label="without skipping")
        top.axhline(full * 1.05, color="grey", linestyle=":",
                    label="+5% relative")
        top.set_title(name)
        top.set_xlabel("measured encoder speed-up (x)")
        top.set_ylabel("WER (%), greedy")
        bottom.set_xlabel("threshold on the intermediate blank probability")
        bottom.set_ylabel("frames skipped (%)")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    """Runs the benchmark; returns the results by test set."""
    args = parse_args(argv)
    hparams, tokenizer = load_experiment(args.experiment, args.overrides)
    model = hparams["ctc_model"].to(args.device).eval()
    if getattr(model, "skip_layer", None) is None:
        raise ValueError(
            f"{args.experiment}: its model has no blank-skip stage; train with a "
            "YAML that has one (hparams/*blankskip*.yaml).")
    blank = hparams["blank_index"]
    widths = spike_widths(args.spike_widths, hparams.get("spike_width"))
    settings = [(float(t), w) for w in widths for t in args.thresholds]
    for threshold, _ in settings:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(
                f"--thresholds {threshold}: expected probabilities in [0, 1]."
            )
    sets = test_sets(hparams, args.test_csv)
    out = args.out or os.path.join(args.experiment, "blank_skip")
    os.makedirs(out, exist_ok=True)

    decode = greedy_decoder(tokenizer, blank)
    results = {}
    for name, csv_path in sets.items():
        batches = list(csv_batches(csv_path, hparams, args.batch_size,
                                   args.device))
        results[name] = sweep(model, batches, decode, settings,
                              args.repeats, args.timing_batches)
        write_csv(results[name]["rows"],
                  os.path.join(out, f"blank_skip_{name}.csv"))
        print(format_report(name, results[name]), flush=True)
    summary = {
        "experiment": os.path.abspath(args.experiment),
        "skip_layer": model.skip_layer,
        "num_layers": model.num_layers,
        "device": args.device,
        "repeats": args.repeats,
        "results": results,
    }
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    plot(results, os.path.join(out, "blank_skip.png"))
    print(f"wrote {out}/blank_skip_*.csv, summary.json, blank_skip.png")
    return results


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
