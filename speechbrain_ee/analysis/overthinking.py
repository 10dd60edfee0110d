"""The overthinking report of an early-exit model (spec ``early_exit.md``,
"Overthinking"): per test set, every exit's WER, the share of utterances
for which an earlier exit is strictly better (fewer word errors) than the
last, and the WER the oracle would gain; one plot of WER per exit layer with
the in-domain and the out-of-distribution test sets.

This is the ``speechbrain-ee overthinking`` sub-command (and
``tools/overthinking.py``). It runs the model once per test set with every
exit computed (`speechbrain_ee.analysis.tradeoff.collect_exits`, the pass
the trade-off sweep starts from) and writes ``overthinking.json``,
``overthinking_<set>.csv`` (each utterance's word errors at every exit) and
``overthinking.png``. ``speechbrain-ee exit-tradeoff`` writes the same plot
beside its sweep.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import json
import os

from speechbrain_ee.analysis.experiment import csv_batches, test_sets
from speechbrain_ee.analysis.tradeoff import (
    add_experiment_arguments,
    collect_exits,
    format_overthinking,
    load_exit_model,
    overthinking_summary,
    plot_per_exit,
)
from speechbrain_ee.decoding.ctc import greedy_decoder


def write_errors(records, path):
    """Writes each utterance's word errors at every exit (one row per
    utterance: ``ID``, ``words``, then ``L<layer>`` per exit).

    Arguments
    ---------
    records : speechbrain_ee.analysis.tradeoff.ExitRecords
        From `collect_exits`.
    path : str
        The CSV to write.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ee.analysis.tradeoff import ExitRecords
    >>> records = ExitRecords([1, 2], 2)
    >>> records.add(["u"], [[["A", "X"]], [["A", "B"]]], [["A", "B"]])
    >>> path = os.path.join(tempfile.mkdtemp(), "e.csv")
    >>> write_errors(records, path)
    >>> print(open(path).read().strip())
    ID,words,L1,L2
    u,2,1,0
    """
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "words", *[f"L{layer}" for layer in records.exit_layers]])
        for uid, words, errors in zip(records.ids, records.ref_words, records.errors):
            writer.writerow([uid, words, *errors])


def add_arguments(parser):
    """The ``overthinking`` sub-command's arguments."""
    add_experiment_arguments(parser, "overthinking")


def run(args):
    """Runs the ``overthinking`` sub-command."""
    hparams, tokenizer, model, options = load_exit_model(args)
    decode = greedy_decoder(tokenizer, hparams["blank_index"])
    out = args.out or os.path.join(args.experiment, "overthinking")
    os.makedirs(out, exist_ok=True)
    summaries = {}
    for name, csv_path in test_sets(hparams, args.test_csv).items():
        batches = csv_batches(csv_path, hparams, args.batch_size, args.device)
        records = collect_exits(model, batches, decode, options)
        summaries[name] = overthinking_summary(records)
        write_errors(records, os.path.join(out, f"overthinking_{name}.csv"))
    with open(os.path.join(out, "overthinking.json"), "w", encoding="utf-8") as f:
        json.dump(summaries, f, indent=2)
    plot_per_exit(summaries, os.path.join(out, "overthinking.png"))
    print(format_overthinking(summaries))
    print(f"wrote {out}/overthinking.json, overthinking_*.csv, overthinking.png")
