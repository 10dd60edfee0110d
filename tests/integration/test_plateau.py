"""Integration: 6-layer models trained from scratch with the CTC recipe's
defaults leave the CTC blank plateau on the tiny corpus within a fixed
number of optimiser steps (see the recipe README, "Leaving the CTC
plateau" and "Blank skip")."""

import pytest

from speechbrain_ee.training import read_progress
from tests.integration.recipe_runs import run_recipe

SIX_LAYERS = [
    "--num_encoder_layers=6", "--d_model=48", "--d_ffn=96", "--nhead=4",
    "--warmup_steps=20", "--max_batch_length_train=30", "--test_beam_size=2",
    "--progress_interval=10",
]
PLATEAU_STEP = 30  # the loss has fallen to the blank-only level by then
MAX_STEPS = 400  # ... and must be well below it by this step (the 2026-12-06
# run: 0.79 x at step 250, falling; 6 steps an epoch on the tiny corpus)


@pytest.mark.parametrize("hparams, extra", [
    ("conformer_ctc.yaml", []),
    # the blank-skip objective (intermediate CTC, KD from step 100 here)
    ("conformer_blankskip_ctc.yaml", ["--skip_layer=4", "--aux_loss_start_step=100",
                                      "--speed_test_batches=0"]),
])
def test_six_layer_model_leaves_the_plateau(tiny_corpora, tmp_path, hparams, extra):
    out = tmp_path / "run"
    run_recipe("CTC", hparams, tiny_corpora, out, *SIX_LAYERS, *extra,
               f"--number_of_epochs={MAX_STEPS // 6 + 1}")
    losses = {step: loss for step, _, loss in read_progress(out)}
    plateau = losses[PLATEAU_STEP]
    left = [step for step, loss in losses.items()
            if step <= MAX_STEPS and loss < 0.75 * plateau]
    assert left, f"still on the plateau ({plateau:.2f}) after {MAX_STEPS} steps: {losses}"
