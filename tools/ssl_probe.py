#!/usr/bin/env python3
"""What a pretrained SSL model learned: its units and layers measured
against the characters of the transcripts.

Give a pretraining run (``recipes/LibriSpeech/distill/pretrain_teacher.py``:
its ``hyperparams.yaml``, ``teacher.ckpt`` and k-means targets) and a
trained CTC run that aligns the transcripts (any run of the CTC recipe, e.g.
the demo's). The tool reports, on dev utterances:

- purity and character-normalised mutual information (PNMI) of the
  pretraining targets (k-means units) and of 100 k-means units of each
  layer (fitted on the training utterances);
- per layer, the greedy CER of a linear CTC probe trained on the frozen
  features of the training utterances;
- with ``--random-baseline``, the same for the same architecture with
  random weights (what pretraining added).

It writes ``ssl_probe.json``, ``ssl_probe.md`` and ``ssl_probe.png``.

Example::

    python tools/ssl_probe.py results/hubert_teacher/1986 \\
        --aligner results/demo/conformer_ctc --random-baseline --out results/ssl_probe
"""

import argparse
import json
import os
import sys
from pathlib import Path

import torch


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a pretraining run's output folder")
    parser.add_argument("--aligner", required=True,
                        help="a CTC recipe run's output folder (aligns the "
                             "transcripts)")
    parser.add_argument("--train-utts", type=int, default=400,
                        help="training utterances for the k-means and probes")
    parser.add_argument("--dev-utts", type=int, default=200,
                        help="dev utterances scored")
    parser.add_argument("--num-units", type=int, default=100,
                        help="k-means units per layer")
    parser.add_argument("--probe-steps", type=int, default=400)
    parser.add_argument("--random-baseline", action="store_true",
                        help="also measure the architecture with random weights")
    parser.add_argument("--out", default="results/ssl_probe")
    return parser.parse_args(argv)


def load_pretraining_run(folder):
    """The run's hyperparameters, with ``teacher.ckpt`` loaded into its
    ``teacher`` and its k-means centroids."""
    from hyperpyyaml import load_hyperpyyaml

    folder = Path(folder)
    for name in ("hyperparams.yaml", "teacher.ckpt"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: give the output folder of a "
                "finished run of recipes/LibriSpeech/distill/pretrain_teacher.py.")
    with open(folder / "hyperparams.yaml", encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f)
    hparams["teacher"].load_state_dict(torch.load(folder / "teacher.ckpt"))
    hparams["teacher"].eval()
    centroids = torch.load(Path(hparams["save_folder"]) /
                           f"kmeans_{hparams['num_units']}.pt")
    return hparams, centroids


def batches(csv_path, aligner_hparams, tokenizer, limit):
    """Waveforms and transcript tokens of the shortest ``limit``
    utterances of a CSV."""
    from speechbrain_ee.analysis.experiment import csv_batches

    for _, wavs, wav_lens, refs in csv_batches(
            csv_path, aligner_hparams, 8, "cpu", features=False, limit=limit):
        yield wavs, wav_lens, [tokenizer.encode_as_ids(" ".join(words))
                               for words in refs]


def measure(models, aligner, data_args, pretrain_hparams, centroids, args):
    """The unit and probe measurements of each model, on frames aligned
    once for all of them."""
    from speechbrain_ee.analysis.ssl_probe import (
        collect,
        fit_linear_probe,
        probe_cer,
        unit_quality,
    )
    from speechbrain_ee.distill.pretrain import assign_units, kmeans

    train_csv, dev_csv, aligner_hparams, tokenizer = data_args
    units = pretrain_hparams["unit_features"]
    train = collect(models, aligner, batches(train_csv, aligner_hparams, tokenizer,
                                             args.train_utts))
    dev = collect(models, aligner, batches(dev_csv, aligner_hparams, tokenizer,
                                           args.dev_utts), units, centroids)
    dev_chars = torch.cat(dev.chars)
    targets = unit_quality(torch.cat(dev.units), dev_chars, len(centroids))
    results = {}
    for name in models:
        result = results[name] = {"targets": targets, "layers": []}
        for layer, states in enumerate(train.states[name]):
            layer_centroids = kmeans(torch.cat(states), args.num_units, 20)
            dev_states = dev.states[name][layer]
            dev_units = assign_units(torch.cat(dev_states), layer_centroids)
            probe = fit_linear_probe(states, train.tokens, tokenizer.vocab_size(),
                                     steps=args.probe_steps)
            cer = probe_cer(probe, dev_states, dev.tokens, tokenizer.decode_ids)
            row = {"layer": layer, "probe_cer": cer,
                   **unit_quality(dev_units, dev_chars, args.num_units)}
            result["layers"].append(row)
            print(f"{name}, layer {layer}: probe CER {cer:.1f}, "
                  f"PNMI {row['pnmi']:.3f}", flush=True)
    return results


def table(results):
    """The Markdown table of the measurements."""
    lines = ["| model | layer | linear-probe CER (dev) | unit purity | char purity | PNMI |",
             "|---|---|---|---|---|---|"]
    t = results["pretrained"]["targets"]
    lines.append(f"| pretraining targets (k-means units) | - | - | "
                 f"{t['unit_purity']:.3f} | {t['char_purity']:.3f} | {t['pnmi']:.3f} |")
    for name, result in results.items():
        for row in result["layers"]:
            lines.append(
                f"| {name} | {row['layer']} | {row['probe_cer']:.1f} | "
                f"{row['unit_purity']:.3f} | {row['char_purity']:.3f} | "
                f"{row['pnmi']:.3f} |")
    return "\n".join(lines)


def plot(results, path):
    """Probe CER and PNMI against the layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, result in results.items():
        layers = [r["layer"] for r in result["layers"]]
        left.plot(layers, [r["probe_cer"] for r in result["layers"]], "o-", label=name)
        right.plot(layers, [r["pnmi"] for r in result["layers"]], "o-", label=name)
    right.axhline(results["pretrained"]["targets"]["pnmi"], ls="--", c="grey",
                  label="pretraining targets")
    left.set(xlabel="layer (0: CNN + projection)", ylabel="linear-probe CER (%)")
    right.set(xlabel="layer", ylabel="PNMI (characters)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    """Loads both runs, measures, writes the outputs."""
    from speechbrain_ee.analysis.experiment import load_experiment
    from speechbrain_ee.distill.hubert import build_hubert

    args = parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    pretrain_hparams, centroids = load_pretraining_run(args.run)
    aligner_hparams, tokenizer = load_experiment(args.aligner)
    ctc_model = aligner_hparams["ctc_model"].eval()

    def aligner(wavs, wav_lens):
        feats = aligner_hparams["normalize"](
            aligner_hparams["compute_features"](wavs), wav_lens)
        return ctc_model(feats, wav_lens).output

    save = Path(pretrain_hparams["save_folder"])
    data_args = (str(save / "train.csv"), str(save / "dev-clean.csv"),
                 aligner_hparams, tokenizer)
    models = {"pretrained": pretrain_hparams["teacher"].model}
    if args.random_baseline:
        torch.manual_seed(0)
        models["random init"] = build_hubert(pretrain_hparams["hubert_config"]).eval()
    results = measure(models, aligner, data_args, pretrain_hparams, centroids, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ssl_probe.json").write_text(json.dumps(results, indent=2))
    text = table(results)
    (out / "ssl_probe.md").write_text(text + "\n")
    plot(results, out / "ssl_probe.png")
    print(text)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
