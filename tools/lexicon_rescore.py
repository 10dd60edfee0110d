#!/usr/bin/env python3
"""Scores a trained CTC run's test sets with the lexicon-constrained beam
search (`speechbrain_ee.decoding.lexicon`), beside greedy decoding, and
tunes its word n-gram language model on the dev set.

The run's best checkpoint (lowest dev WER) is loaded; the lexicon and the
language model come from the words and sentences of its training CSV, as
in the recipe. The model's outputs are computed once per set; the search
runs without a language model, then with the ``--lm-order`` model at every
``--lm-weights`` x ``--word-scores`` setting on the dev set, and the test
sets are scored at the setting with the lowest dev WER (the test sets
never choose it). Prints one line per set and writes
``lexicon_rescore.json`` in the run folder::

    python tools/lexicon_rescore.py results/demo
    python tools/lexicon_rescore.py results/demo --lm-order 0   # lexicon only

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import itertools
import json
import os
import sys

import torch
from speechbrain.utils.metric_stats import ErrorRateStats

from speechbrain_ee.analysis.experiment import csv_batches, load_experiment, test_sets
from speechbrain_ee.decoding.ctc import greedy_decoder
from speechbrain_ee.decoding.lexicon import LexiconSearcher, csv_transcripts
from speechbrain_ee.lobes.contract import inference_options


@torch.no_grad()
def model_outputs(run, batch_size=8):
    """The run's hyperparameters, tokenizer and, per set (``dev`` and the
    test sets), its batches as ``(ids, log_probs, wav_lens, references)``:
    the model's output at its own inference setting (exit strategy, skip
    threshold)."""
    hparams, tokenizer = load_experiment(run)
    model = hparams["ctc_model"].eval()
    options = inference_options(hparams)
    sets = {"dev": hparams["valid_csv"], **test_sets(hparams)}
    outputs = {}
    for name, path in sets.items():
        outputs[name] = [
            (ids, model(feats, lens, **options).output, lens, refs)
            for ids, feats, lens, refs in csv_batches(path, hparams, batch_size, "cpu")]
    return hparams, tokenizer, outputs


def score(batches, decode):
    """WER and CER (in %) of ``decode(log_probs, wav_lens)`` on batches."""
    wer, cer = ErrorRateStats(), ErrorRateStats(split_tokens=True)
    for ids, log_probs, lens, refs in batches:
        hyps = decode(log_probs, lens)
        wer.append(ids, hyps, refs)
        cer.append(ids, hyps, refs)
    return round(wer.summarize("error_rate"), 2), round(cer.summarize("error_rate"), 2)


def rescore(run, beam_size=50, lm_order=3, lm_weights=(0.5, 0.75, 1.0, 1.5),
            word_scores=(-1.0, 0.0, 1.0), lm_text="run"):
    """Greedy, lexicon and lexicon + LM WER / CER of each set of ``run``
    (``lm_text``: a language-model text beside the training transcripts,
    see `LexiconSearcher`; ``"run"``: the run's YAML ``lm_text``).

    Returns
    -------
    dict
        ``{"sets": {set: {"WER", "CER", "lexicon_WER", "lexicon_CER",
        "lm_WER", "lm_CER"}}, "lm": {"order", "lm_weight", "word_score"},
        "dev_grid": [[lm_weight, word_score, dev WER], ...]}``.
    """
    hparams, tokenizer, outputs = model_outputs(run)
    transcripts = csv_transcripts([hparams["train_csv"]])
    if lm_text == "run":
        lm_text = hparams.get("lm_text")
    elif lm_text in ("none", "null"):
        lm_text = None
    if lm_text and not os.path.isfile(lm_text):
        raise FileNotFoundError(f"--lm-text: {lm_text} not found; pass a text file, "
                                "one sentence per line, or --lm-text none.")
    folder = os.path.join(run, "lexicon_rescore")

    def searcher(**lm):
        return LexiconSearcher(tokenizer, transcripts, folder, beam_size,
                               hparams["blank_index"], **lm)

    greedy = greedy_decoder(tokenizer, hparams["blank_index"])
    plain = searcher()
    results = {"sets": {}, "dev_grid": []}
    for name, batches in outputs.items():
        stats = results["sets"][name] = {}
        stats["WER"], stats["CER"] = score(batches, greedy)
        stats["lexicon_WER"], stats["lexicon_CER"] = score(batches, plain)
    if lm_order <= 0:
        return results
    best, with_lm = None, searcher(lm_order=lm_order, lm_text=lm_text)
    for weight, bonus in itertools.product(lm_weights, word_scores):
        dev_wer, _ = score(outputs["dev"], with_lm.reweighted(weight, bonus))
        results["dev_grid"].append([weight, bonus, dev_wer])
        if best is None or dev_wer < best[0]:
            best = (dev_wer, weight, bonus)
    results["lm"] = {"order": lm_order, "lm_weight": best[1], "word_score": best[2],
                     "lm_text": lm_text}
    tuned = with_lm.reweighted(best[1], best[2])
    for name, batches in outputs.items():
        stats = results["sets"][name]
        stats["lm_WER"], stats["lm_CER"] = score(batches, tuned)
    return results


def main(argv=None):
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="output folder of a CTC recipe run (plain encoder)")
    parser.add_argument("--beam-size", type=int, default=50)
    parser.add_argument("--lm-order", type=int, default=3,
                        help="n-gram order of the language model (0: none)")
    parser.add_argument("--lm-weights", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    parser.add_argument("--word-scores", type=float, nargs="+", default=[-1.0, 0.0, 1.0])
    parser.add_argument("--lm-text", default="run",
                        help="language-model text beside the training transcripts: a "
                        "file, 'none', or 'run' (default: the run's YAML `lm_text`)")
    args = parser.parse_args(argv)
    results = rescore(args.run, args.beam_size, args.lm_order, args.lm_weights,
                      args.word_scores, lm_text=args.lm_text)
    if "lm" in results:
        print("language model (tuned on dev): " + ", ".join(
            f"{k} {v}" for k, v in results["lm"].items()))
    for name, stats in results["sets"].items():
        line = (f"{name}: greedy WER {stats['WER']:.2f} (CER {stats['CER']:.2f}), "
                f"lexicon WER {stats['lexicon_WER']:.2f} (CER {stats['lexicon_CER']:.2f})")
        if "lm_WER" in stats:
            line += f", lexicon + LM WER {stats['lm_WER']:.2f} (CER {stats['lm_CER']:.2f})"
        print(line)
    with open(os.path.join(args.run, "lexicon_rescore.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
