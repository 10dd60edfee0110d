#!/usr/bin/env python3
"""What the waveform CNN costs in HuBERT-style pretraining on the CPU, and
what the built-in model's cheaper CNN saves (spec ``distillation.md``,
"Built-in teacher").

One pretraining step (masked prediction: forward and backward of the CNN,
the Transformer and the codeword head) of the built-in model's Transformer
(6 x 256, FFN 1024) behind four waveform CNNs: at HuBERT's 20 ms frame
rate HuBERT's own (7 layers of 512 channels), the one the built-in model
had first (7 x 256) and the CPU one it had next (4 x 128, kernels 20/4/4/2,
strides 10/4/4/2); and the one it has now, that CNN with a fifth layer
(kernel 2, stride 2) to 40 ms frames, so that the Transformer runs on half
as many frames. The cases run side by side in interleaved rounds
(medians); the CNN alone (forward and backward) is timed the same way, so
its share of a step is measured, not derived. With ``--bf16`` (on a CPU
with native bfloat16) the steps also run under bf16 autocast.

Example::

    python benchmarks/ssl_frontend.py --seconds 10 --batch 4 --repeats 3 --bf16
"""

import argparse
import sys

import torch

from speechbrain_ee.analysis.timing import medians, time_rounds
from speechbrain_ee.distill.hubert import CodewordHead, build_hubert, hubert_config
from speechbrain_ee.distill.pretrain import HuBERTPretrainer

CNNS = {  # name -> hubert_config arguments of the waveform CNN
    "hubert_7x512": {"conv_dim": 512},
    "previous_7x256": {"conv_dim": 256},
    "cpu_4x128": {"conv_dim": 128, "conv_kernel": [20, 4, 4, 2],
                  "conv_stride": [10, 4, 4, 2]},
    "cpu_5x128_40ms": {"conv_dim": 128, "conv_kernel": [20, 4, 4, 2, 2],
                       "conv_stride": [10, 4, 4, 2, 2]},
}


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of each utterance")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16", action="store_true",
                        help="also time the steps under bf16 autocast")
    parser.add_argument("--cnns", nargs="+", default=list(CNNS), choices=list(CNNS))
    return parser.parse_args(argv)


def pretrainer(cnn):
    """The built-in model's Transformer behind the named CNN."""
    config = hubert_config(hidden_size=256, num_hidden_layers=6,
                           num_attention_heads=4, intermediate_size=1024,
                           do_stable_layer_norm=True, mask_time_prob=0.65,
                           **CNNS[cnn])
    return HuBERTPretrainer(build_hubert(config), CodewordHead(256, 64, 100),
                            mask_prob=0.65, mask_length=10)


def cases(models, bf16):
    """Name -> one timed call: a whole step (fp32, bf16) and the CNN alone."""
    def step(model, autocast):
        @torch.enable_grad()  # time_rounds times without autograd
        def run(wavs, lens):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                out = model(wavs, lens)
            out.logits.float().logsumexp(-1).mean().backward()
            model.zero_grad(set_to_none=True)
        return run

    def cnn(model):
        @torch.enable_grad()
        def run(wavs, lens):
            model.model.feature_extractor(wavs).mean().backward()
            model.zero_grad(set_to_none=True)
        return run

    timed = {}
    for name, model in models.items():
        timed[f"{name}:step"] = step(model, False)
        timed[f"{name}:cnn"] = cnn(model)
        if bf16:
            timed[f"{name}:step_bf16"] = step(model, True)
    return timed


def main(argv=None):
    """Builds the models, times them side by side, prints the table."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {name: pretrainer(name) for name in args.cnns}
    samples = int(args.seconds * 16000)
    inputs = [(torch.randn(args.batch, samples) * 0.1, torch.ones(args.batch))]
    bf16 = args.bf16 and (torch.cpu._is_avx512_bf16_supported()
                          or torch.cpu._is_amx_tile_supported())
    if args.bf16 and not bf16:
        print("--bf16: this CPU has no native bfloat16; fp32 only.")
    times = medians(time_rounds(cases(models, bf16), inputs, args.repeats))
    base = times[f"{args.cnns[0]}:step"]
    print(f"One pretraining step, batch {args.batch} x {args.seconds:g} s, "
          f"{args.threads} thread(s), median of {args.repeats} rounds; "
          f"speed-up against {args.cnns[0]}'s fp32 step\n")
    header = "| CNN | CNN params | step (s) | CNN fwd+bwd (s) | CNN share | speed-up |"
    if bf16:
        header += " step bf16 (s) | speed-up bf16 |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = {}
    for name, model in models.items():
        params = sum(p.numel() for p in model.model.feature_extractor.parameters())
        step, cnn = times[f"{name}:step"], times[f"{name}:cnn"]
        row = {"cnn_params": params, "step_s": step, "cnn_s": cnn,
               "cnn_share": cnn / step, "speedup": base / step}
        line = (f"| {name} | {params / 1e6:.2f}M | {step:.2f} | {cnn:.2f} | "
                f"{100 * cnn / step:.0f}% | {base / step:.2f}x |")
        if bf16:
            row["step_bf16_s"] = times[f"{name}:step_bf16"]
            line += f" {row['step_bf16_s']:.2f} | {base / row['step_bf16_s']:.2f}x |"
        rows[name] = row
        print(line)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
