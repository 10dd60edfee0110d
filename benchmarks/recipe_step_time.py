#!/usr/bin/env python3
"""Training-step and inference time of the CTC recipe's YAMLs, side by side.

The recipe's results table reports minutes per epoch, but runs made on
different days or under different load cannot be compared by their wall
time. This script builds the model of each YAML (front end, encoder, CTC
heads, exactly as the recipe does), feeds all of them the same synthetic
batches (``--batch`` utterances of ``--seconds`` of noise, random token
targets) and times a training step (forward, CTC loss, backward) and an
inference pass of each, in interleaved rounds of one run
(`speechbrain_ee.analysis.timing.time_cases`), then prints the times and
their ratio to the first YAML.

Example::

    python benchmarks/recipe_step_time.py conformer_ctc.yaml \\
        conformer_summarymixing_ctc.yaml branchformer_summarymixing_ctc.yaml
    python benchmarks/recipe_step_time.py conformer_ctc.yaml --precisions fp32 bf16

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import os
import sys

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ee.analysis.timing import time_cases

HPARAMS = os.path.join(os.path.dirname(__file__), "..", "recipes",
                       "LibriSpeech", "ASR", "CTC", "hparams")


def load_model(yaml_path):
    """The YAML's hyperparameters, its model and a ``log_probs(feats, lens)``
    function: every CTC head's log-probabilities (what training computes)."""
    with open(yaml_path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f)
    if "ctc_model" not in hparams:
        raise ValueError(
            f"{yaml_path}: no `ctc_model`; this benchmark times the CTC "
            "recipe's YAMLs.")
    model = hparams["ctc_model"]

    def log_probs(feats, lens):
        return model(feats, lens).heads

    return hparams, model, log_probs


def synthetic_batch(batch, seconds, sample_rate, vocab, seed=0):
    """Noise waveforms and random CTC targets (3 tokens a second)."""
    gen = torch.Generator().manual_seed(seed)
    wavs = torch.randn(batch, int(seconds * sample_rate), generator=gen)
    tokens = torch.randint(1, vocab, (batch, max(1, int(3 * seconds))),
                           generator=gen)
    return wavs, torch.ones(batch), tokens


def main(argv=None):
    """Times every YAML; prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("yamls", nargs="+",
                        help="YAML files (names resolve in the CTC recipe's "
                        "hparams/ folder)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.1,
                        help="utterance length (default: the built-in "
                        "corpus's mean, 3.1 s)")
    parser.add_argument("--steps", type=int, default=5,
                        help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["fp32"],
                        choices=("fp32", "bf16"),
                        help="time each YAML in each (bf16: torch.autocast, "
                        "as the recipe's --precision bf16 on the CPU)")
    args = parser.parse_args(argv)

    cases_train, cases_infer, params = {}, {}, {}
    inputs = None
    names = []
    for yaml_name, precision in [(y, p) for y in args.yamls for p in args.precisions]:
        name = yaml_name if len(args.precisions) == 1 else f"{yaml_name} {precision}"
        names.append(name)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
        path = yaml_name if os.path.isfile(yaml_name) else os.path.join(HPARAMS, yaml_name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{yaml_name}: no such YAML (nor in {HPARAMS}).")
        hparams, model, log_probs = load_model(path)
        params[name] = sum(p.numel() for p in model.parameters())
        wavs, lens, tokens = synthetic_batch(
            args.batch, args.seconds, hparams["sample_rate"],
            hparams["output_neurons"])
        feats = hparams["compute_features"](wavs)
        inputs = [(feats, lens)] * args.steps
        token_lens = torch.ones(args.batch)
        ctc = hparams["ctc_cost"]

        def train_step(f, w, model=model, log_probs=log_probs, ctc=ctc,
                       tokens=tokens, autocast=autocast):
            model.train()
            with torch.enable_grad():
                with autocast:
                    loss = sum(ctc(p, tokens, w, token_lens)
                               for p in log_probs(f, w))
                loss.backward()
            model.zero_grad(set_to_none=True)

        def infer(f, w, model=model, log_probs=log_probs, autocast=autocast):
            model.eval()
            with autocast:
                log_probs(f, w)

        cases_train[name] = train_step
        cases_infer[name] = infer
    train = time_cases(cases_train, inputs, args.repeats)
    infer = time_cases(cases_infer, inputs, args.repeats)
    first = names[0]
    print(f"batch {args.batch} x {args.seconds} s, {args.steps} steps a "
          f"round, best of {args.repeats} rounds, "
          f"{torch.get_num_threads()} threads")
    print(f"{'YAML':<40} {'params':>8} {'train ms':>9} {'ratio':>6} "
          f"{'infer ms':>9} {'ratio':>6}")
    for name in names:
        t = 1000 * train[name] / args.steps
        i = 1000 * infer[name] / args.steps
        print(f"{name:<40} {params[name] / 1e6:7.2f}M {t:9.1f} "
              f"{train[name] / train[first]:6.2f} {i:9.1f} "
              f"{infer[name] / infer[first]:6.2f}")
    return train, infer


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
