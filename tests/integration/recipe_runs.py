"""Helpers of the recipe integration tests: run a recipe's train.py in a
subprocess, read its training log."""

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPES = REPO_ROOT / "recipes" / "LibriSpeech" / "ASR"
DISTILL = REPO_ROOT / "recipes" / "LibriSpeech" / "distill"
# The tiny built-in teacher's sizes (for the YAMLs that build it), as YAML
# overrides and as command-line flags.
TEACHER_SIZES = {"teacher_hidden_size": 32, "teacher_layers": 2,
                 "teacher_heads": 4, "teacher_ffn_size": 64,
                 "teacher_conv_dim": 32, "num_codewords": 20,
                 "codeword_dim": 16}
TEACHER = [f"--{key}={value}" for key, value in TEACHER_SIZES.items()]
# The tiny built-in teacher's pretraining (the progress log at every step).
TINY_TEACHER = ["--hidden_size=32", "--num_layers=2", "--num_heads=4",
                "--ffn_size=64", "--conv_dim=32", "--num_units=20",
                "--codeword_dim=16", "--warmup_steps=5", "--lr_adam=0.002",
                "--progress_interval=1", "--lr_cooldown=null"]
TINY_BLANK_SKIP = [
    "--d_model=48", "--num_encoder_layers=3", "--skip_layer=2",
    "--d_ffn=96", "--nhead=4", "--lr_adam=0.002",
    "--warmup_steps=10", "--max_batch_length_train=30", "--test_beam_size=4",
    # Skip from the 8th step (epoch 2) at a threshold the barely trained
    # intermediate head passes on some frames.
    "--skip_warmup_steps=7", "--skip_threshold=0.4",
    "--speed_repeats=1", "--speed_test_batches=2",
]
TINY_COMPOSED = [
    "--d_model=48", "--d_ffn=96", "--nhead=4", "--lr_adam=0.002",
    "--warmup_steps=10", "--max_batch_length_train=30", "--test_beam_size=4",
    "--num_encoder_layers=3", "--skip_layer=1", "--exit_layers=[2,3]",
    "--skip_threshold=0.4", "--skip_warmup_steps=7",
    "--speed_repeats=1", "--speed_test_batches=2",
]


def run_recipe(recipe, hparams, corpora, output_folder, *args,
               command=None, launcher=(sys.executable,), status=0):
    """Runs ``recipes/LibriSpeech/ASR/<recipe>/train.py`` with
    ``hparams/<hparams>`` on ``corpora`` (from ``build_corpora``), or
    ``command`` (a script and its YAML, without the Common Voice test),
    through ``launcher`` (default: this Python; e.g. torchrun's command);
    returns its combined output and fails the test when its exit status is
    not ``status``."""
    data = [f"--data_folder={corpora['librispeech']}"]
    if command is None:
        folder = RECIPES / recipe
        command = [str(folder / "train.py"), str(folder / "hparams" / hparams)]
        data.append(f"--cv_data_folder={corpora['commonvoice']}")
        if recipe == "CTC":
            data.append(f"--lm_text={corpora['librispeech-lm']}/librispeech-lm-norm.txt")
    cmd = [*launcher, *command, *data,
           f"--output_folder={output_folder}", "--device=cpu", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == status, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def distill_command(script, hparams):
    """A script of recipes/LibriSpeech/distill and one of its YAMLs, for
    `run_recipe`'s ``command``."""
    return [str(DISTILL / script), str(DISTILL / "hparams" / hparams)]


def train_losses(output_folder):
    """Epoch -> train loss, from the recipe's train_log.txt."""
    losses = {}
    for line in (Path(output_folder) / "train_log.txt").read_text() \
            .splitlines():
        match = re.match(r"epoch: (\d+),.* train loss: ([\d.e+-]+)", line)
        if match:
            losses[int(match.group(1))] = float(match.group(2))
    return losses


def epoch_steps(output_folder):
    """Epoch -> optimiser steps done by its end, from train_log.txt."""
    steps = {}
    for line in (Path(output_folder) / "train_log.txt").read_text().splitlines():
        match = re.match(r"epoch: (\d+),.* steps: (\d+)", line)
        if match:
            steps[int(match.group(1))] = int(match.group(2))
    return steps


def exit_losses(output_folder):
    """Epoch -> {layer: train loss of that exit}."""
    losses = {}
    for line in (Path(output_folder) / "train_log.txt").read_text().splitlines():
        epoch = re.match(r"epoch: (\d+),", line)
        if epoch:
            losses[int(epoch.group(1))] = {
                int(layer): float(value) for layer, value in re.findall(
                    r"train loss_L(\d+): ([\d.e+-]+)", line)
            }
    return losses
