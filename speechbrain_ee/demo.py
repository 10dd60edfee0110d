"""The main job: build the built-in corpora if absent, train the baseline
CTC Conformer on them on the CPU and print WER in-domain (test-clean) and
out of distribution (mini-commonvoice), with the time each step took.

``speechbrain-ee demo`` runs it from a checkout of the repository (the
recipes live beside the package).

Authors
-------
* speechbrain-ee contributors 2026
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPE_DIR = REPO_ROOT / "recipes" / "LibriSpeech" / "ASR" / "CTC"
DEFAULT_HPARAMS = RECIPE_DIR / "hparams" / "conformer_ctc.yaml"


def add_arguments(parser):
    """Adds the demo's options to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    parser.add_argument("--corpus-dir", default="corpora",
                        help="where the built-in corpora are (built if "
                        "absent; default: %(default)s)")
    parser.add_argument("--output-folder", default="results/demo",
                        help="the recipe's output folder; an existing run "
                        "there is resumed, never erased (default: "
                        "%(default)s)")
    parser.add_argument("--hparams", default=str(DEFAULT_HPARAMS),
                        help="recipe YAML (default: the baseline Conformer)")
    parser.add_argument("--train-minutes", type=float, default=15.0,
                        help="training time budget: training stops when it "
                        "is spent, mid-epoch if need be, and the last "
                        "validation follows (default: %(default)s)")
    parser.add_argument("--preset", default="default",
                        help="corpus preset for a corpus built now "
                        "(default: %(default)s)")
    parser.add_argument("--device", default="cpu",
                        help="torch device for training (default: cpu)")
    parser.add_argument("overrides", nargs="*",
                        help="extra recipe options, e.g. --number_of_epochs=5"
                        " (put them after --)")


def recipe_command(args, corpora):
    """The command line that trains and scores the recipe.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed demo options.
    corpora : dict
        Paths of the built corpora (``librispeech``, ``commonvoice``,
        ``librispeech-lm``).

    Returns
    -------
    list of str

    Example
    -------
    >>> from argparse import Namespace
    >>> cmd = recipe_command(
    ...     Namespace(hparams="h.yaml", output_folder="out", device="cpu",
    ...               train_minutes=1.0, overrides=[]),
    ...     {"librispeech": "ls", "commonvoice": "cv", "librispeech-lm": "lm"})
    >>> cmd[3:9]
    ['--data_folder', 'ls', '--cv_data_folder', 'cv', '--lm_text', 'lm/librispeech-lm-norm.txt']
    """
    from speechbrain_ee.dataio.corpus import LM_TEXT_FILE

    return [
        sys.executable,
        str(RECIPE_DIR / "train.py"),
        str(args.hparams),
        "--data_folder", str(corpora["librispeech"]),
        "--cv_data_folder", str(corpora["commonvoice"]),
        "--lm_text", f"{corpora['librispeech-lm']}/{LM_TEXT_FILE}",
        "--output_folder", str(args.output_folder),
        "--device", args.device,
        "--max_train_minutes", str(args.train_minutes),
        *args.overrides,
    ]


def format_results(results, timings):
    """A plain-text table of the run's WERs and timings.

    Arguments
    ---------
    results : dict
        The recipe's ``results.json`` (test set -> metric -> value).
    timings : dict
        Step name -> seconds.

    Returns
    -------
    str

    Example
    -------
    >>> print(format_results({"test-clean": {"WER": 10.0, "CER": 5.0,
    ...     "beam_WER": 9.5, "beam_CER": 4.9, "lexicon_WER": 7.0,
    ...     "lexicon_CER": 4.0}}, {"total": 60.0}))
    test set        greedy WER  greedy CER  beam WER  beam CER  lexicon WER  lexicon CER
    test-clean           10.00        5.00      9.50      4.90         7.00         4.00
    total: 1.0 min
    """
    columns = [("greedy WER", "WER", 12), ("greedy CER", "CER", 12),
               ("beam WER", "beam_WER", 10), ("beam CER", "beam_CER", 10),
               ("lexicon WER", "lexicon_WER", 13), ("lexicon CER", "lexicon_CER", 13)]
    columns = [c for c in columns
               if any(c[1] in stats for stats in results.values())]
    lines = [f"{'test set':<14}" + "".join(f"{title:>{width}}" for title, _, width in columns)]
    for name, stats in results.items():
        lines.append(f"{name:<14}" + "".join(
            f"{stats.get(key, float('nan')):>{width}.2f}" for _, key, width in columns))
    for step, seconds in timings.items():
        lines.append(f"{step}: {seconds / 60:.1f} min")
    return "\n".join(lines)


def format_curve(epochs):
    """The run's learning curve in one line: dev WER after each epoch
    against the training minutes so far.

    Arguments
    ---------
    epochs : list of dict
        `speechbrain_ee.training.read_train_log` of the run.

    Returns
    -------
    str

    Example
    -------
    >>> format_curve([{"minutes": 3.9, "valid WER": 78.8, "steps": 1027},
    ...               {"minutes": 7.9, "valid WER": 55.0, "steps": 2054}])
    'dev WER by training minutes: 3.9 min 78.8 (step 1027), 7.9 min 55.0 (step 2054)'
    """
    points = [f"{e['minutes']:.1f} min {e.get('valid WER', float('nan')):.1f} "
              f"(step {e.get('steps', '?')})" for e in epochs]
    return "dev WER by training minutes: " + ", ".join(points)


def run(args):
    """Builds the corpora if needed, trains, scores and prints the results.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed demo options.

    Returns
    -------
    int
        The exit status (the recipe's, if it failed).
    """
    from speechbrain_ee.dataio.corpus import build_corpora
    from speechbrain_ee.training import read_train_log

    if not (RECIPE_DIR / "train.py").is_file():
        raise FileNotFoundError(
            f"The recipe {RECIPE_DIR / 'train.py'} is missing: run the demo "
            "from a checkout of the speechbrain-ee repository."
        )
    timings = {}
    start = time.time()
    corpora = build_corpora(args.corpus_dir, preset=args.preset)
    timings["corpus"] = time.time() - start

    step = time.time()
    cmd = recipe_command(args, corpora)
    print("[demo] training:", " ".join(cmd), flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    status = subprocess.call(cmd, cwd=os.getcwd(), env=env)
    if status != 0:
        print(f"[demo] the recipe failed (exit {status}).", file=sys.stderr)
        return status
    timings["train and score"] = time.time() - step
    timings["total"] = time.time() - start

    results_path = Path(args.output_folder) / "results.json"
    with open(results_path, encoding="utf-8") as f:
        results = json.load(f)
    print("\n[demo] results (WER %, built-in corpora; cv-test is out of "
          "distribution; lexicon: beam search over the words of the training "
          "transcripts and the LM text, with their trigram language model):")
    print(format_results(results, timings))
    print(format_curve(read_train_log(args.output_folder)))
    print(f"[demo] details: {args.output_folder}/train_log.txt, "
          f"{args.output_folder}/wer_*.txt")
    print(f"[demo] export it as a pretrained model: speechbrain-ee export "
          f"{args.output_folder} exported/demo")
    return 0
