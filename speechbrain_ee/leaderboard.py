"""``speechbrain-ee leaderboard``: every method of the CTC recipe in one
table, measured in one run.

It reads the trained runs under ``--runs-dir`` (one folder per YAML of
``recipes/LibriSpeech/ASR/CTC/hparams``, named after it), or with
``--train`` first trains the YAMLs that have no finished run there, each
with the same budget (``--epochs`` on the built-in corpus, ``--jobs`` at a
time; an interrupted run resumes from its checkpoint). Then
`speechbrain_ee.analysis.leaderboard` scores and times them side by side and
writes ``<out>.md``, ``<out>.csv`` and ``<out>.png``, and the README's
leaderboard section.

Example::

    speechbrain-ee leaderboard --train --jobs 2          # train, then measure
    speechbrain-ee leaderboard --device cuda             # runs already trained

Authors
-------
* speechbrain-ee contributors 2026
"""

import shlex
import sys
from pathlib import Path

from speechbrain_ee.analysis.leaderboard import (
    build_rows,
    load_entries,
    run_meta,
    update_readme,
    write_leaderboard,
)
from speechbrain_ee.training import train_runs

REPO_ROOT = Path(__file__).resolve().parents[1]
CTC_RECIPE = REPO_ROOT / "recipes" / "LibriSpeech" / "ASR" / "CTC"
DEFAULT_YAMLS = (  # the methods trained from scratch on the built-in corpus
    "conformer_ctc", "conformer_summarymixing_ctc", "branchformer_summarymixing_ctc",
    "conformer_early_exit_ctc", "summarymixing_early_exit_ctc",
    "conformer_blankskip_ctc", "summarymixing_blankskip_ctc",
    "summarymixing_ee_blankskip_ctc",
)


def add_arguments(parser):
    """The ``leaderboard`` sub-command's arguments."""
    parser.add_argument("--yamls", nargs="+", default=list(DEFAULT_YAMLS),
                        help="YAML names (hparams/<name>.yaml of the CTC recipe); "
                        "default: every method trained from scratch")
    parser.add_argument("--runs-dir", default="results/leaderboard/runs",
                        help="their runs, one folder per YAML name")
    parser.add_argument("--train", action="store_true",
                        help="train the YAMLs without a finished run first")
    parser.add_argument("--epochs", type=int, default=3,
                        help="the training budget of --train (epochs of the "
                        "built-in corpus, the same for every YAML)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="runs trained at a time (the CPU threads are split)")
    parser.add_argument("--overrides", nargs="+", default=[], metavar="NAME=YAML",
                        help="YAML overrides of a run's hyperparams.yaml, e.g. an "
                        "inference setting tuned on dev: 'summarymixing_ee_blankskip_ctc="
                        "{skip_threshold: 0.7}'")
    parser.add_argument("--baseline", default="conformer_ctc",
                        help="the run the speed-ups are over (the MHSA Conformer)")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="length of each speed input (test utterances "
                        "concatenated)")
    parser.add_argument("--inputs", type=int, default=4, help="speed inputs")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", default="results/leaderboard",
                        help="writes OUT.md, OUT.csv and OUT.png")
    parser.add_argument("--readme", default="README.md",
                        help="the README whose leaderboard section is rewritten "
                        "(empty: none)")


def parse_overrides(items, names):
    """``NAME=YAML`` items -> {name: YAML}.

    Example
    -------
    >>> parse_overrides(["a={x: 1}"], ["a", "b"])
    {'a': '{x: 1}'}
    """
    overrides = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in names:
            raise ValueError(f"--overrides {item!r}: expected NAME=YAML with NAME one of "
                             f"{list(names)}.")
        overrides[name] = text
    return overrides


def run(args):
    """Runs the ``leaderboard`` sub-command."""
    runs_dir = Path(args.runs_dir)
    for name in args.yamls:
        if not (CTC_RECIPE / "hparams" / f"{name}.yaml").is_file():
            raise FileNotFoundError(
                f"--yamls {name}: no {name}.yaml in {CTC_RECIPE / 'hparams'}.")
    if args.baseline not in args.yamls:
        raise ValueError(f"--baseline {args.baseline}: not among --yamls {args.yamls}.")
    if args.train:
        if runs_dir.name != "runs":
            raise ValueError(f"--runs-dir {runs_dir}: with --train it must end in "
                             "/runs (the runs go to <parent>/runs/<name>).")
        train_runs({name: (CTC_RECIPE / "train.py", CTC_RECIPE / "hparams" / f"{name}.yaml",
                           [f"--number_of_epochs={args.epochs}"])
                    for name in args.yamls}, runs_dir.parent, args.jobs)
    entries = load_entries({name: runs_dir / name for name in args.yamls}, args.device,
                           parse_overrides(args.overrides, args.yamls))
    rows = build_rows(entries, args.baseline, args.seconds, args.inputs, args.repeats,
                      args.device)
    command = "speechbrain-ee leaderboard " + shlex.join(sys.argv[2:]) \
        if sys.argv[1:2] == ["leaderboard"] else "speechbrain-ee leaderboard"
    meta = run_meta(command, args.device, args.seconds, args.inputs, args.repeats)
    table = write_leaderboard(rows, args.out, args.baseline, meta)
    print(table)
    if args.readme:
        update_readme(args.readme, table, f"{args.out}.md")
    print(f"wrote {args.out}.md, {args.out}.csv, {args.out}.png"
          + (f" and the leaderboard section of {args.readme}" if args.readme else ""))
