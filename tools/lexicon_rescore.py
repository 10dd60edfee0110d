#!/usr/bin/env python3
"""Scores a trained CTC run's test sets with the lexicon-constrained beam
search (`speechbrain_ee.decoding.lexicon`), beside greedy decoding: for runs
trained before the recipe scored it itself.

The run's best checkpoint (lowest dev WER) is loaded; the lexicon is the
words of its training CSV, as in the recipe. Prints one line per test set
and writes ``lexicon_rescore.json`` in the run folder::

    python tools/lexicon_rescore.py results/demo

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import json
import os
import sys

import torch
from speechbrain.utils.metric_stats import ErrorRateStats

from speechbrain_ee.decoding.lexicon import LexiconSearcher, csv_words
from speechbrain_ee.inference.experiment import (
    csv_batches,
    greedy_decoder,
    load_experiment,
    test_sets,
)


@torch.no_grad()
def rescore(run, beam_size=50, batch_size=8):
    """Greedy and lexicon WER / CER of each test set of ``run``.

    Returns
    -------
    dict
        Test set -> ``{"WER", "CER", "lexicon_WER", "lexicon_CER"}``.
    """
    hparams, tokenizer = load_experiment(run, model_key="ctc_lin")
    encoder, head = hparams["encoder"].eval(), hparams["ctc_lin"].eval()
    searcher = LexiconSearcher(tokenizer, csv_words([hparams["train_csv"]]),
                               os.path.join(run, "lexicon_rescore"), beam_size,
                               hparams["blank_index"])
    greedy = greedy_decoder(tokenizer, hparams["blank_index"])
    results = {}
    for name, path in test_sets(hparams).items():
        stats = {key: ErrorRateStats(split_tokens=key.endswith("CER"))
                 for key in ("WER", "CER", "lexicon_WER", "lexicon_CER")}
        for ids, feats, lens, refs in csv_batches(path, hparams, batch_size, "cpu"):
            log_probs = torch.log_softmax(head(encoder(feats, lens)), -1)
            for prefix, hyps in (("", greedy(log_probs, lens)),
                                 ("lexicon_", searcher(log_probs, lens))):
                for key in ("WER", "CER"):
                    stats[prefix + key].append(ids, hyps, refs)
        results[name] = {k: round(s.summarize("error_rate"), 2) for k, s in stats.items()}
    return results


def main(argv=None):
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="output folder of a CTC recipe run (plain encoder)")
    parser.add_argument("--beam-size", type=int, default=50)
    args = parser.parse_args(argv)
    results = rescore(args.run, args.beam_size)
    for name, stats in results.items():
        print(f"{name}: greedy WER {stats['WER']:.2f} (CER {stats['CER']:.2f}), "
              f"lexicon WER {stats['lexicon_WER']:.2f} (CER {stats['lexicon_CER']:.2f})")
    with open(os.path.join(args.run, "lexicon_rescore.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
