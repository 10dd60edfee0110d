"""Integration: exit heads on a frozen fine-tuned model
(hparams/ssl_early_exit_ctc.yaml, the spec's setting 2) on the tiny corpus.
The built-in teacher is fine-tuned with ssl_ctc.yaml, then heads at every
layer train on its frozen encoder: the heads' losses fall, the backbone (the
encoder and the fine-tuned CTC layer) stays bit-identical, the last exit is
the fine-tuned model (same WER), the test stage scores every exit, the
strategy, the oracle and overthinking on both test sets, and the
overthinking report and the trade-off tool analyse the run. The same YAML
on a frozen from-scratch Conformer run (the comparison study) trains too."""

import json

import pytest
import torch

from speechbrain_ee.cli import main as cli_main
from speechbrain_ee.training import best_checkpoint_file

from .recipe_runs import TEACHER, exit_losses, run_recipe

CTC = ["--test_beam_size=4", "--warmup_steps=5"]
HEADS = ["--lr_adam=0.002", "--warmup_steps=5", "--test_beam_size=4",
         "--speed_test_batches=2", "--speed_repeats=1"]


@pytest.fixture(scope="module")
def ssl_run(teacher, tiny_corpora, tmp_path_factory):
    """Two epochs of CTC fine-tuning of the tiny built-in teacher."""
    out = tmp_path_factory.mktemp("ssl_ctc") / "run"
    run_recipe("CTC", "ssl_ctc.yaml", tiny_corpora, out, "--number_of_epochs=2",
               *TEACHER, "--teacher_folder", str(teacher), "--total_steps=20",
               "--encoder_freeze_steps=2", *CTC)
    return out


@pytest.fixture(scope="module")
def heads_run(ssl_run, tiny_corpora, tmp_path_factory):
    """Three epochs of exit heads on the frozen fine-tuned model."""
    out = tmp_path_factory.mktemp("ssl_early_exit") / "run"
    run_recipe("CTC", "ssl_early_exit_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=3", f"--finetuned_run={ssl_run}", *HEADS)
    return out


def test_heads_train_on_the_frozen_fine_tuned_model(heads_run, ssl_run):
    losses = exit_losses(heads_run)
    assert sorted(losses) == [1, 2, 3]
    layers = sorted(losses[1])
    assert layers == [1, 2]  # the tiny teacher's two layers: an exit at each
    assert losses[3][1] < losses[1][1], losses  # the trained head learns
    # The last exit is the frozen fine-tuned model: its loss does not move.
    assert losses[3][2] == pytest.approx(losses[1][2], rel=0.05), losses
    # The backbone is bit-identical to the fine-tuned run's best checkpoint.
    heads = torch.load(best_checkpoint_file(heads_run))
    finetuned = torch.load(best_checkpoint_file(ssl_run))
    encoder = [k for k in finetuned if k.startswith("0.")]
    assert encoder
    for key in encoder:
        assert torch.equal(heads[f"0.encoder.{key[2:]}"], finetuned[key]), key
    for key in ("w.weight", "w.bias"):
        assert torch.equal(heads[f"0.final_head.{key}"], finetuned[f"1.{key}"])
    # The test stage scores every exit, the strategy, the oracle and
    # overthinking on both test sets; the last exit's WER is the model's.
    results = json.loads((heads_run / "results.json").read_text())
    finetuned_results = json.loads((ssl_run / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for name, stats in results.items():
        for key in ("WER_L1", "WER_L2", "strategy_WER", "oracle_WER",
                    "overthinking_share", "overthinking_WER_gain", "speedup"):
            assert key in stats, (name, key)
        assert stats["WER_L2"] == pytest.approx(finetuned_results[name]["WER"])
        assert stats["oracle_WER"] <= min(stats["WER_L1"], stats["WER_L2"]) + 1e-9


def test_overthinking_report_and_tradeoff_on_the_run(heads_run, tmp_path, capsys):
    report = tmp_path / "overthinking"
    assert cli_main(["overthinking", str(heads_run), "--out", str(report)]) == 0
    summary = json.loads((report / "overthinking.json").read_text())
    assert set(summary) == {"test-clean", "cv-test"}
    for stats in summary.values():
        assert stats["exit_layers"] == [1, 2]
        assert len(stats["per_exit_WER"]) == 2
        assert stats["oracle_WER"] <= min(stats["per_exit_WER"]) + 1e-9
        assert stats["overthinking_WER_gain"] == pytest.approx(
            stats["last_WER"] - stats["oracle_WER"])
    assert (report / "overthinking.png").stat().st_size > 5_000
    assert (report / "overthinking_cv-test.csv").is_file()
    assert "strictly better than the last" in capsys.readouterr().out
    tradeoff = tmp_path / "tradeoff"
    assert cli_main(["exit-tradeoff", str(heads_run), "--out", str(tradeoff),
                     "--repeats", "1"]) == 0
    result = json.loads((tradeoff / "summary.json").read_text())
    assert set(result) == {"test-clean", "cv-test"}
    for name, stats in result.items():
        strategies = {row["strategy"] for row in stats["rows"]}
        assert strategies == {"fixed", "confidence", "sequence_confidence",
                              "patience", "token_confidence"}
        assert stats["overthinking"]["per_exit_WER"] == pytest.approx(
            summary[name]["per_exit_WER"])
    assert (tradeoff / "tradeoff.png").stat().st_size > 10_000
    assert (tradeoff / "overthinking.png").is_file()


def test_the_same_yaml_on_a_frozen_from_scratch_encoder(tiny_corpora, tmp_path):
    """The comparison study: exits on a frozen Conformer run of
    conformer_ctc.yaml (its own features and normalisation)."""
    scratch = tmp_path / "conformer"
    run_recipe("CTC", "conformer_ctc.yaml", tiny_corpora, scratch,
               "--number_of_epochs=1", "--d_model=48", "--num_encoder_layers=2",
               "--d_ffn=96", "--nhead=4", "--max_batch_length_train=30", *CTC)
    out = tmp_path / "heads"
    run_recipe("CTC", "ssl_early_exit_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=2", f"--finetuned_run={scratch}", *HEADS)
    losses = exit_losses(out)
    assert losses[2][1] < losses[1][1], losses
    heads = torch.load(best_checkpoint_file(out))
    finetuned = torch.load(best_checkpoint_file(scratch))
    for key in (k for k in finetuned if k.startswith("0.")):
        assert torch.equal(heads[f"0.encoder.{key[2:]}"], finetuned[key]), key
    results = json.loads((out / "results.json").read_text())
    assert {"WER_L1", "WER_L2", "overthinking_share"} <= set(results["test-clean"])
