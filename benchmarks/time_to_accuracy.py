#!/usr/bin/env python3
"""Dev WER against training minutes: CTC recipe settings side by side.

Each variant (a CTC YAML and its overrides) is trained by the recipe with
the same time budget, all at once with the CPU threads split between them
(``--jobs``), so that they share the machine's load. The recipe validates
after every epoch; this script reads each run's ``train_log.txt`` (dev WER
and CER after each epoch, training minutes summed) and ``progress.csv``
(training loss every few steps), then writes

* ``curves.csv``: run, epoch, steps, training minutes, dev WER and CER;
* ``report.md``: per run the minutes to reach each ``--targets`` dev WER,
  the last dev WER, and the step at which the training loss first fell
  below ``--plateau-loss`` (the CTC blank plateau left);
* ``time_to_accuracy.png``: dev WER against training minutes.

By default it compares the demo's YAML with the foundation baseline (the
same YAML with the foundation issue's settings: unigram 256 tokens,
augmentation from the first step), on the built-in default corpus::

    python benchmarks/time_to_accuracy.py --minutes 15
    python benchmarks/time_to_accuracy.py --minutes 15 \\
        --variant "6x144=conformer_ctc.yaml --num_encoder_layers=6 --d_model=144 --d_ffn=576"

Finished runs (with a ``results.json``) are kept and read again; ``--runs
NAME=FOLDER`` reads runs trained elsewhere (the demo's ``results/demo``).

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import csv
import os
import shlex
from pathlib import Path

from speechbrain_ee.training import read_progress, read_train_log, train_runs

REPO_ROOT = Path(__file__).resolve().parents[1]
CTC_RECIPE = REPO_ROOT / "recipes" / "LibriSpeech" / "ASR" / "CTC"
DEFAULT_VARIANTS = (
    "default=conformer_ctc.yaml",
    "foundation=conformer_ctc.yaml --token_type=unigram --output_neurons=256 "
    "--augment_start_step=0",
)


def parse_args(argv=None):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=None,
                        help="NAME=YAML [--override=value ...] (YAML relative to the CTC "
                        "recipe's hparams/); repeatable (default: "
                        f"{'; '.join(DEFAULT_VARIANTS)})")
    parser.add_argument("--runs", nargs="*", default=[], metavar="NAME=FOLDER",
                        help="trained runs to read instead of (or beside) training")
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="training budget of each run (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="runs trained at a time (default: %(default)s)")
    parser.add_argument("--data-folder", default="corpora/mini-librispeech")
    parser.add_argument("--cv-data-folder", default="corpora/mini-commonvoice")
    parser.add_argument("--lm-text", default="corpora/mini-librispeech-lm/librispeech-lm-norm.txt",
                        help="language-model text of the lexicon search (null: the "
                        "training transcripts alone)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--targets", type=float, nargs="+", default=[80, 50, 30, 20],
                        help="dev WERs to time (default: %(default)s)")
    parser.add_argument("--plateau-loss", type=float, default=None,
                        help="training loss that marks leaving the blank plateau "
                        "(default: 0.8 x the loss after the warm-up)")
    parser.add_argument("--out", default="benchmarks/out/time_to_accuracy")
    return parser.parse_args(argv)


def parse_variant(text):
    """``NAME=YAML [overrides]`` -> ``(name, yaml, overrides)``.

    Example
    -------
    >>> parse_variant("deep=conformer_ctc.yaml --num_encoder_layers=6")
    ('deep', 'conformer_ctc.yaml', ['--num_encoder_layers=6'])
    """
    name, sep, rest = text.partition("=")
    words = shlex.split(rest)
    if not sep or not name or not words:
        raise SystemExit(f"--variant {text!r}: write NAME=YAML [--override=value ...].")
    return name, words[0], words[1:]


def plateau_exit(progress, threshold=None):
    """The first logged step whose training loss is below ``threshold``
    (default: 0.8 x the first loss logged after 100 steps): when a CTC
    model starts emitting tokens, its loss drops well below the level of
    blank-only output.

    Example
    -------
    >>> plateau_exit([(50, 1, 5.0), (100, 2, 3.9), (150, 3, 3.8), (200, 4, 2.9)])
    200
    """
    if not progress:
        return None
    if threshold is None:
        after = [loss for step, _, loss in progress if step >= 100] or [progress[-1][2]]
        threshold = 0.8 * after[0]
    return next((step for step, _, loss in progress if loss < threshold), None)


def minutes_to(curve, target):
    """Training minutes at the first epoch whose dev WER is <= ``target``.

    Example
    -------
    >>> minutes_to([{"minutes": 2.0, "valid WER": 90.0},
    ...             {"minutes": 4.0, "valid WER": 40.0}], 50)
    4.0
    """
    return next((e["minutes"] for e in curve if e.get("valid WER", 101) <= target), None)


def report(curves, progress, targets, plateau_loss=None):
    """The markdown table of the runs (see the module docstring)."""
    head = ["run", "epochs", "minutes", "last dev WER", "plateau left (step)"]
    head += [f"min to WER {t:g}" for t in targets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, curve in curves.items():
        last = curve[-1] if curve else {}
        row = [name, str(len(curve)), f"{last.get('minutes', 0):.1f}",
               f"{last.get('valid WER', float('nan')):.2f}",
               str(plateau_exit(progress[name], plateau_loss) or "-")]
        row += [f"{m:.1f}" if m is not None else "-"
                for m in (minutes_to(curve, t) for t in targets)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_curves(curves, path):
    """``curves.csv``: one row per run and epoch."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "epoch", "steps", "minutes", "valid_WER", "valid_CER"])
        for name, curve in curves.items():
            for e in curve:
                writer.writerow([name, e.get("epoch"), e.get("steps"), e["minutes"],
                                 e.get("valid WER"), e.get("valid CER")])


def plot(curves, path):
    """Dev WER against training minutes, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot([0] + [e["minutes"] for e in curve],
                [100] + [min(100.0, e.get("valid WER", 100.0)) for e in curve],
                marker="o", label=name)
    ax.set_xlabel("training minutes")
    ax.set_ylabel("dev WER (%)")
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    """Trains (or reads) the runs and writes the report, curves and plot."""
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folders = {}
    for item in args.runs:
        name, sep, folder = item.partition("=")
        if not sep or not Path(folder, "train_log.txt").is_file():
            raise SystemExit(f"--runs {item!r}: write NAME=FOLDER, a folder with a "
                             "train_log.txt (a recipe run).")
        folders[name] = Path(folder)
    variants = args.variant if args.variant is not None else (
        [] if args.runs else list(DEFAULT_VARIANTS))
    common = [f"--data_folder={args.data_folder}", f"--cv_data_folder={args.cv_data_folder}",
              f"--lm_text={args.lm_text}",
              f"--device={args.device}", f"--max_train_minutes={args.minutes}"]
    runs = {}
    for text in variants:
        name, yaml, overrides = parse_variant(text)
        if not (CTC_RECIPE / "hparams" / yaml).is_file():
            raise SystemExit(f"--variant {text!r}: no {yaml} in {CTC_RECIPE / 'hparams'}.")
        runs[name] = (CTC_RECIPE / "train.py", CTC_RECIPE / "hparams" / yaml,
                      common + overrides)
    folders.update(train_runs(runs, out, args.jobs))
    curves = {name: read_train_log(folder) for name, folder in folders.items()}
    progress = {name: read_progress(folder) for name, folder in folders.items()}
    table = report(curves, progress, args.targets, args.plateau_loss)
    (out / "report.md").write_text(table + "\n", encoding="utf-8")
    write_curves(curves, out / "curves.csv")
    plot(curves, out / "time_to_accuracy.png")
    print(table)
    print(f"written: {out / 'report.md'}, {out / 'curves.csv'}, "
          f"{out / 'time_to_accuracy.png'} (CPU threads per run: "
          f"{max(1, (os.cpu_count() or 1) // max(1, args.jobs))})")
    return curves


if __name__ == "__main__":
    main()
