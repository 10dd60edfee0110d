"""Integration: the early-exit CTC recipe trains on a tiny generated corpus
(every exit's loss falls), resumes, scores every exit, the strategy and the
oracle on both test sets, and the exit-tradeoff tool analyses the run."""

import json

import pytest

from speechbrain_ee.cli import main as cli_main

from .recipe_runs import exit_losses, run_recipe

TINY_EE = [
    "--d_model=48", "--num_encoder_layers=3", "--exit_layers=[1,2,3]",
    "--d_ffn=96", "--nhead=4", "--lr_adam=0.002",
    "--warmup_steps=10", "--max_batch_length_train=30", "--test_beam_size=4",
]
SUMMARY_MIXING = ["--local_proj_hid_dim=[96]", "--summary_hid_dim=[96]"]


@pytest.mark.parametrize("hparams,extra", [
    ("summarymixing_early_exit_ctc.yaml", SUMMARY_MIXING),
    ("conformer_early_exit_ctc.yaml", []),
])
def test_early_exit_recipe_trains_every_exit(tiny_corpora, tmp_path, hparams,
                                             extra):
    out = tmp_path / "run"
    run_recipe("CTC", hparams, tiny_corpora, out, "--number_of_epochs=3",
               *TINY_EE, *extra)
    losses = exit_losses(out)
    assert sorted(losses) == [1, 2, 3]
    for layer in (1, 2, 3):
        assert losses[3][layer] < losses[1][layer], (layer, losses)
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for stats in results.values():
        for key in ("WER_L1", "WER_L2", "WER_L3", "strategy_WER",
                    "strategy_avg_layers", "oracle_WER",
                    "overthinking_share"):
            assert key in stats
        assert stats["oracle_WER"] <= min(
            stats[f"WER_L{layer}"] for layer in (1, 2, 3)) + 1e-9
        assert 1 <= stats["strategy_avg_layers"] <= 3
    # Resuming: one more epoch continues from the checkpoint.
    log = run_recipe("CTC", hparams, tiny_corpora, out, "--number_of_epochs=4",
                     *TINY_EE, *extra)
    assert "Loading a checkpoint" in log
    assert sorted(exit_losses(out)) == [1, 2, 3, 4]


def test_exit_tradeoff_tool_on_a_trained_run(tiny_corpora, tmp_path):
    out = tmp_path / "run"
    run_recipe("CTC", "summarymixing_early_exit_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=1", *TINY_EE, *SUMMARY_MIXING)
    report = tmp_path / "tradeoff"
    status = cli_main(["exit-tradeoff", str(out), "--out", str(report),
                       "--repeats", "1"])
    assert status == 0
    summary = json.loads((report / "summary.json").read_text())
    assert set(summary) == {"test-clean", "cv-test"}
    for result in summary.values():
        strategies = {row["strategy"] for row in result["rows"]}
        assert strategies == {"fixed", "confidence", "sequence_confidence",
                              "patience", "token_confidence"}
        assert result["oracle"]["WER"] <= min(
            row["WER"] for row in result["rows"]) + 1e-9
    assert (report / "tradeoff.png").stat().st_size > 10_000
    assert (report / "tradeoff_cv-test.csv").is_file()


def test_exit_tradeoff_rejects_a_plain_model_run(tiny_corpora, tmp_path):
    out = tmp_path / "plain"
    out.mkdir()
    (out / "hyperparams.yaml").write_text("seed: 1\n")
    assert cli_main(["exit-tradeoff", str(out)]) == 2
