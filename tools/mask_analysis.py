#!/usr/bin/env python3
"""S3-Router mask analysis: how similar are the masks that different
languages, domains or tasks learn over one frozen model, and how far are
they from magnitude pruning (spec ``s3_router.md``, "Analysis").

Give two or more runs of the CTC recipe with a routed encoder
(``s3router_ctc.yaml``, e.g. trained on different corpora or with
different tasks); each run's best checkpoint gives its masks. The tool
prints, per routed layer and overall, the cosine similarity of the binary
masks and the IoU of the removed weights for every pair of runs and for
each run against one-shot magnitude pruning at its sparsity, and the
storage of one task's masks (1 bit per routed weight) against a
fine-tuned copy (32 bits). It writes ``mask_analysis.json`` and
``mask_analysis.png``.

Example::

    python tools/mask_analysis.py results/s3router_ctc/librispeech \
        results/s3router_ctc/commonvoice --out results/mask_analysis
"""

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

from speechbrain_ee.analysis.experiment import load_experiment
from speechbrain_ee.routing.masks import (
    magnitude_masks,
    mask_similarity,
    routed_layers,
)


def run_masks(folder):
    """The routed layers' masks of a run's best checkpoint, and its
    sparsity."""
    hparams, _ = load_experiment(folder, model_key="encoder")
    layers = routed_layers(hparams["encoder"])
    if not layers:
        raise ValueError(
            f"{folder}: its encoder has no routed layer; give runs of "
            "s3router_ctc.yaml.")
    sparsity = next(iter(layers.values())).sparsity
    masks = {name: layer.mask() for name, layer in layers.items()}
    return masks, sparsity, magnitude_masks(hparams["encoder"], sparsity)


def short(name):
    """``encoder.model.encoder.layers.3.feed_forward.output_dense`` ->
    ``L3 output_dense``.

    Example
    -------
    >>> short("encoder.model.encoder.layers.3.feed_forward.output_dense")
    'L3 output_dense'
    """
    parts = name.split(".")
    if "layers" in parts:
        i = parts.index("layers")
        return f"L{parts[i + 1]} {parts[-1]}"
    return name


def analyse(folders):
    """Pairwise and magnitude-pruning similarities of the runs' masks."""
    names = [Path(f).name for f in folders]
    if len(set(names)) < len(names):  # e.g. .../1234 twice: full paths
        names = [str(f) for f in folders]
    runs = {name: run_masks(f) for name, f in zip(names, folders)}
    comparisons = {}
    for (a, (ma, _, _)), (b, (mb, _, _)) in itertools.combinations(
            runs.items(), 2):
        comparisons[f"{a} vs {b}"] = mask_similarity(ma, mb)
    for name, (masks, _, magnitude) in runs.items():
        comparisons[f"{name} vs magnitude"] = mask_similarity(masks,
                                                              magnitude)
    bits = sum(m.numel() for m in next(iter(runs.values()))[0].values())
    return {
        "runs": {n: {"sparsity": s} for n, (_, s, _) in runs.items()},
        "comparisons": comparisons,
        "routed_weights": bits,
        "bits_per_task": bits,
        "bits_finetuned_copy": 32 * bits,
    }


def format_report(report):
    """Per-layer and overall table."""
    lines = [f"routed weights: {report['routed_weights']:,}; one task's "
             f"masks: {report['bits_per_task'] / 8 / 1024:.1f} KiB (1 bit "
             f"per weight) against {report['bits_finetuned_copy'] / 8 / 1024:.1f}"
             " KiB for a fine-tuned copy (32 bits)"]
    for pair, sim in report["comparisons"].items():
        lines.append(f"\n{pair}: cosine {sim['cosine']:.4f}, IoU of removed "
                     f"weights {sim['iou_removed']:.4f}")
        for layer, values in sim["layers"].items():
            lines.append(f"  {short(layer):<28} cosine {values['cosine']:.4f}"
                         f"  IoU {values['iou_removed']:.4f}")
    return "\n".join(lines)


def plot(report, path):
    """IoU of the removed weights per layer, one line per comparison."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    for pair, sim in report["comparisons"].items():
        layers = list(sim["layers"])
        ax.plot(range(len(layers)),
                [sim["layers"][n]["iou_removed"] for n in layers],
                marker="o", label=pair)
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([short(n) for n in layers], rotation=60, fontsize=7)
    ax.set_ylabel("IoU of removed weights")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    """Parses the command line, analyses, prints and writes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+",
                        help="output folders of s3router_ctc.yaml runs")
    parser.add_argument("--out", default="results/mask_analysis")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    report = analyse(args.runs)
    print(format_report(report))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "mask_analysis.json"), "w",
              encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    plot(report, os.path.join(args.out, "mask_analysis.png"))
    return report


if __name__ == "__main__":
    main()
