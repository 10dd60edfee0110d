#!/usr/bin/env python3
"""Teacher against distilled students: parameters, inference time and WER,
side by side in one run (spec ``distillation.md``; issue targets: the
Fbank student at least 15% fewer parameters and 1.8x faster than the CNN
student, within 15% relative WER of the teacher; the CNN student at least
2x faster than the teacher, within 10% relative WER).

Each model is a CTC-recipe run (``ssl_ctc.yaml``,
``distilled_student_ctc.yaml``, ``distilled_student_fbank_ctc.yaml`` and,
optionally, ``distilhubert_ctc.yaml``: DistilHuBERT's shallow and wide
student beside the deep and thin ones). The
same test utterances go through each whole model (features, encoder, CTC
head) from the waveform, batch 1 by default as in the paper, every model
timed in turn in each round (`speechbrain_ee.analysis.timing`); WERs are
the runs' own test results (``results.json``).

Example::

    python benchmarks/distill.py \
        --teacher results/ssl_ctc/1234 \
        --student results/distilled_student_ctc/1234 \
        --student-fbank results/distilled_student_fbank_ctc/1234 \
        [--distilhubert results/distilhubert_ctc/1234]

Writes ``summary.json`` and ``distill.png`` to ``--out``.
"""

import argparse
import json
import os
import sys

import torch

from speechbrain_ee.distill.feature_cache import without_caches
from speechbrain_ee.analysis.experiment import (
    csv_batches,
    load_experiment,
    test_sets as run_test_sets,
)
from speechbrain_ee.analysis.timing import time_cases

MODELS = ("teacher", "student", "student_fbank", "distilhubert")


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", required=True,
                        help="run folder of ssl_ctc.yaml")
    parser.add_argument("--student", required=True,
                        help="run folder of distilled_student_ctc.yaml")
    parser.add_argument("--student-fbank", required=True,
                        help="run folder of distilled_student_fbank_ctc.yaml")
    parser.add_argument("--distilhubert", default=None,
                        help="run folder of distilhubert_ctc.yaml (optional)")
    parser.add_argument("--utterances", type=int, default=None,
                        help="time only the first N test utterances "
                        "(shortest first; default: all)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (the paper: 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="results/distill_benchmark")
    return parser.parse_args(argv)


def model_call(hparams):
    """``call(wavs, wav_lens) -> CTC log-probabilities`` of a run's whole
    model, from the waveform."""
    encoder = without_caches(hparams["encoder"]).eval()  # time the CNN
    ctc_lin = hparams["ctc_lin"].eval()
    normalize = hparams["normalize"].eval()

    def call(wavs, wav_lens):
        feats = normalize(hparams["compute_features"](wavs), wav_lens)
        return torch.log_softmax(ctc_lin(encoder(feats, wav_lens)), dim=-1)

    return call


def parameters(hparams):
    """Parameters inference uses (encoder without distillation heads, CTC
    head)."""
    encoder = hparams["encoder"]
    count = (encoder.inference_parameters()
             if hasattr(encoder, "inference_parameters")
             else sum(p.numel() for p in encoder.parameters()))
    return count + sum(p.numel() for p in hparams["ctc_lin"].parameters())


def relative_gap(wer, reference):
    """Relative WER increase over ``reference`` (0.1 = 10% worse).

    Example
    -------
    >>> round(relative_gap(55.0, 50.0), 3)
    0.1
    """
    return (wer - reference) / max(reference, 1e-9)


def summarise(rows):
    """The ratios the targets are stated in.

    Example
    -------
    >>> rows = {"teacher": {"params": 10, "seconds": 4.0, "WER": 50.0},
    ...         "student": {"params": 6, "seconds": 2.0, "WER": 54.0},
    ...         "student_fbank": {"params": 5, "seconds": 1.0, "WER": 56.0}}
    >>> s = summarise(rows)
    >>> round(s["fbank_param_reduction"], 3), s["fbank_speedup"]
    (0.167, 2.0)
    >>> s["fbank_rel_wer_gap"]  # against the teacher
    0.12
    >>> s["student_speedup"], s["student_rel_wer_gap"]
    (2.0, 0.08)
    """
    t, s, f = rows["teacher"], rows["student"], rows["student_fbank"]
    ratios = {
        "fbank_param_reduction": 1 - f["params"] / s["params"],
        "fbank_speedup": s["seconds"] / f["seconds"],
        "fbank_rel_wer_gap": relative_gap(f["WER"], t["WER"]),
        "student_speedup": t["seconds"] / s["seconds"],
        "student_rel_wer_gap": relative_gap(s["WER"], t["WER"]),
        "fbank_student_speedup_over_teacher": t["seconds"] / f["seconds"],
    }
    if "distilhubert" in rows:
        d = rows["distilhubert"]
        ratios["distilhubert_speedup"] = t["seconds"] / d["seconds"]
        ratios["distilhubert_rel_wer_gap"] = relative_gap(d["WER"], t["WER"])
    return ratios


def plot(rows, path):
    """Parameters, time and WER of the three models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, key, label in zip(axes, ("params", "seconds", "WER"),
                              ("parameters (M)", "inference time (s)",
                               "test-clean WER (%)")):
        names = [m for m in MODELS if m in rows]
        values = [rows[m][key] / (1e6 if key == "params" else 1)
                  for m in names]
        ax.bar(names, values, color=["#555", "#3a7", "#37a", "#a73"][:len(names)])
        ax.set_title(label)
        ax.tick_params(axis="x", labelrotation=15)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    """Runs the benchmark; returns the summary."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    folders = {name: folder for name, folder in zip(MODELS, (
        args.teacher, args.student, args.student_fbank, args.distilhubert))
        if folder}
    runs, rows = {}, {}
    for name, folder in folders.items():
        hparams, _ = load_experiment(folder, model_key="encoder")
        results_path = os.path.join(folder, "results.json")
        if not os.path.isfile(results_path):
            raise FileNotFoundError(
                f"{results_path} not found: the {name} run has not been "
                "tested yet (rerun its recipe to the end).")
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
        runs[name] = hparams
        rows[name] = {
            "run": folder, "params": parameters(hparams),
            "WER": results["test-clean"]["WER"],
            "loss": results["test-clean"].get("loss"),
            "beam_WER": results["test-clean"].get("beam_WER"),
            "cv_WER": results.get("cv-test", {}).get("WER"),
        }
        for module in ("encoder", "ctc_lin", "normalize"):
            hparams[module].to(args.device)
    csv_path = run_test_sets(runs["teacher"])["test-clean"]
    inputs = [(wavs, lens) for _, wavs, lens, _ in csv_batches(
        csv_path, runs["teacher"], args.batch_size, args.device,
        features=False, limit=args.utterances)]
    times = time_cases({n: model_call(h) for n, h in runs.items()}, inputs,
                       args.repeats, args.device)
    audio = sum(float(lens.sum()) * wavs.shape[1] for wavs, lens in inputs) \
        / runs["teacher"]["sample_rate"]
    for name in rows:
        rows[name]["seconds"] = times[name]
        rows[name]["rtf"] = times[name] / audio
    summary = {"rows": rows, "ratios": summarise(rows),
               "utterances": sum(len(w) for w, _ in inputs),
               "audio_seconds": audio, "batch_size": args.batch_size,
               "threads": torch.get_num_threads()}
    print(format_table(summary))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w",
              encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    plot(rows, os.path.join(args.out, "distill.png"))
    return summary


def format_table(summary):
    """The printed table and ratios."""
    lines = [
        f"{summary['utterances']} test-clean utterances "
        f"({summary['audio_seconds']:.0f} s of audio), batch "
        f"{summary['batch_size']}, {summary['threads']} threads; models "
        "timed side by side, best of the rounds.",
        f"{'model':<14} {'params (M)':>10} {'time (s)':>9} {'RTF':>7} "
        f"{'WER':>7} {'beam WER':>9} {'cv WER':>7} {'CTC loss':>9}",
    ]
    for name, row in summary["rows"].items():
        lines.append(
            f"{name:<14} {row['params'] / 1e6:>10.2f} {row['seconds']:>9.2f} "
            f"{row['rtf']:>7.3f} {row['WER']:>7.2f} "
            f"{row['beam_WER'] or float('nan'):>9.2f} "
            f"{row['cv_WER'] or float('nan'):>7.2f} "
            f"{row['loss'] or float('nan'):>9.3f}")
    r = summary["ratios"]
    lines += [
        f"Fbank vs CNN front end: {r['fbank_param_reduction']:.1%} fewer "
        f"parameters (target >= 15%), {r['fbank_speedup']:.2f}x faster "
        f"(target >= 1.8x); WER {r['fbank_rel_wer_gap']:+.1%} relative "
        "to the teacher's (target <= +15%)",
        f"Student vs teacher: {r['student_speedup']:.2f}x faster (target "
        f">= 2x), WER {r['student_rel_wer_gap']:+.1%} relative (target <= "
        "+10%); Fbank student "
        f"{r['fbank_student_speedup_over_teacher']:.2f}x faster than the "
        "teacher",
    ]
    if "distilhubert_speedup" in r:
        lines.append(
            f"DistilHuBERT vs teacher: {r['distilhubert_speedup']:.2f}x faster, "
            f"WER {r['distilhubert_rel_wer_gap']:+.1%} relative")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
