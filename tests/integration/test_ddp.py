"""Integration: the CTC recipe under torchrun, two processes on the CPU
(gloo): both finish, the data is split between them, one checkpoint is
written and a later run resumes from it."""

import sys

from tests.integration.recipe_runs import epoch_steps, run_recipe, train_losses

TINY = ["--d_model=48", "--num_encoder_layers=2", "--d_ffn=96", "--nhead=4",
        "--warmup_steps=10", "--max_batch_length_train=30", "--test_beam_size=4"]
TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node=2")


def test_ctc_recipe_under_torchrun(tiny_corpora, tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    run_recipe("CTC", "conformer_ctc.yaml", tiny_corpora, single, *TINY,
               "--number_of_epochs=1")
    # torchrun fails when any process fails. The time budget (not reached)
    # and the cool-down take the main process's clock in every process.
    run_recipe("CTC", "conformer_ctc.yaml", tiny_corpora, ddp, *TINY,
               "--number_of_epochs=2", "--max_train_minutes=30",
               "--distributed_backend=gloo", launcher=TORCHRUN)
    # Each process takes half of the batches of an epoch.
    assert epoch_steps(ddp)[1] == (epoch_steps(single)[1] + 1) // 2
    assert sorted(train_losses(ddp)) == [1, 2]  # logged once, by the main process
    assert len(list((ddp / "save").glob("CKPT+*"))) == 1
    assert (ddp / "results.json").is_file()

    log = run_recipe("CTC", "conformer_ctc.yaml", tiny_corpora, ddp, *TINY,
                     "--number_of_epochs=3")
    assert "Loading a checkpoint" in log
    assert sorted(train_losses(ddp)) == [1, 2, 3]
