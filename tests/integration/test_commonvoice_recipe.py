"""Integration: the Common Voice recipe scores a LibriSpeech run out of
distribution exactly as the LibriSpeech recipe's own cv-test stage does,
takes the inference options of the model contract (refusing those the
model has no use for, in one line), and fine-tunes the run on a few Common
Voice clips with a falling loss, scoring before and after."""

import json
import re
import subprocess
import sys

import pytest
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_ee.analysis.wer_groups import read_wer_file
from speechbrain_ee.dataio.recipe_data import dev_selection
from speechbrain_ee.inference.export import export_run

from .recipe_runs import REPO_ROOT, train_losses

RECIPE = REPO_ROOT / "recipes" / "CommonVoice" / "ASR" / "CTC"


def cv_recipe(hparams, model, corpora, out, *args, status=0):
    """Runs the Common Voice train.py on the tiny corpus's Common Voice
    folder; returns its combined output."""
    cmd = [sys.executable, str(RECIPE / "train.py"), str(RECIPE / "hparams" / hparams),
           f"--model={model}", f"--data_folder={corpora['commonvoice']}",
           f"--output_folder={out}", "--device=cpu", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          cwd=REPO_ROOT)
    assert proc.returncode == status, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_ood_score_equals_the_librispeech_recipes_cv_test(blank_skip_run, tiny_corpora,
                                                          tmp_path):
    out = tmp_path / "ood"
    cv_recipe("ood_eval.yaml", blank_skip_run, tiny_corpora, out)
    mine = json.loads((out / "results.json").read_text())["cv-test"]
    theirs = json.loads((blank_skip_run / "results.json").read_text())["cv-test"]
    assert 0 <= mine["WER"] and mine["utterances"] == 5 and mine["left_out"] == 0
    assert mine["WER"] == theirs["WER"] and mine["CER"] == theirs["CER"]
    assert mine["skipped_share"] == theirs["skipped_share"]  # the run's skip threshold
    # the same errors utterance by utterance, in SpeechBrain's file format
    assert read_wer_file(out / "wer_cv-test_greedy.txt") == \
        read_wer_file(blank_skip_run / "wer_cv-test_greedy.txt")
    groups = (out / "wer_cv-test_groups.md").read_text()
    assert "| all |" in groups and "gender: " in groups and "client_id: " in groups


def test_an_exported_model_scores_as_its_run(blank_skip_run, tiny_corpora, tmp_path):
    export_run(blank_skip_run, tmp_path / "export")
    out = tmp_path / "ood"
    cv_recipe("ood_eval.yaml", tmp_path / "export", tiny_corpora, out)
    mine = json.loads((out / "results.json").read_text())["cv-test"]
    theirs = json.loads((blank_skip_run / "results.json").read_text())["cv-test"]
    assert mine["WER"] == theirs["WER"] and mine["CER"] == theirs["CER"]


def test_inference_options_are_checked_against_the_model(blank_skip_run, tiny_corpora,
                                                         tmp_path):
    log = cv_recipe("ood_eval.yaml", blank_skip_run, tiny_corpora, tmp_path / "x",
                    "--exit_strategy=fixed", "--exit_threshold=1", status=2)
    (line,) = [x for x in log.splitlines() if x.startswith("train.py: error:")]
    assert "exit layer 1: this model exits after layers [2, 3]" in line
    assert not (tmp_path / "x" / "save" / "test.csv").exists()  # refused before preparation


def test_finetuning_lowers_the_loss_and_scores_before_and_after(blank_skip_run,
                                                                tiny_corpora, tmp_path):
    out = tmp_path / "ft"
    log = cv_recipe("finetune_ctc.yaml", blank_skip_run, tiny_corpora, out,
                    "--number_of_epochs=4", "--hours=1", "--batch_size=2",
                    "--lr_adam=0.002", "--skip_threshold=1.0",
                    "--ckpt_metric=CER")
    losses = train_losses(out)
    assert sorted(losses) == [1, 2, 3, 4] and losses[4] < losses[1], losses
    results = json.loads((out / "results.json").read_text())
    before, after = results["cv-test-before"], results["cv-test-after"]
    assert before["train_utterances"] == 4 and before["skipped_share"] == 0.0
    assert 0 <= after["WER"] and after["utterances"] == before["utterances"] == 5
    assert "before" in log and "after fine-tuning" in log
    # the kept (and scored) checkpoint has the lowest dev CER, as the
    # LibriSpeech recipe's and export's dev_selection finds it
    dev_cers = [float(x) for x in re.findall(
        r"valid CER: ([\d.e+-]+)", (out / "train_log.txt").read_text())]
    best = Checkpointer(out / "save").find_checkpoint(**dev_selection())
    assert len(dev_cers) == 4 and best.meta["ckpt_metric"] == "CER"
    assert best.meta["CER"] == pytest.approx(min(dev_cers), abs=0.01)


def test_a_bad_ckpt_metric_is_refused_before_preparation(blank_skip_run,
                                                         tiny_corpora, tmp_path):
    log = cv_recipe("finetune_ctc.yaml", blank_skip_run, tiny_corpora,
                    tmp_path / "x", "--ckpt_metric=cer", status=2)
    (line,) = [x for x in log.splitlines() if x.startswith("train.py: error:")]
    assert "ckpt_metric: 'cer'; use WER or CER." in line
    assert not (tmp_path / "x" / "save" / "test.csv").exists()


def test_s3router_adaptation_learns_a_mask_over_the_frozen_model(blank_skip_run,
                                                                 tiny_corpora, tmp_path):
    """finetune_s3router.yaml: the Conformer's feed-forward weights stay the
    LibriSpeech run's, only their scores and the heads learn, and the
    domain's masks are saved at 1 bit per routed weight."""
    import torch

    from speechbrain_ee.analysis.experiment import load_model
    from speechbrain_ee.routing.masks import route, unpack_mask
    from speechbrain_ee.routing.tasks import TaskRouter

    out = tmp_path / "s3r"
    log = cv_recipe("finetune_s3router.yaml", blank_skip_run, tiny_corpora, out,
                    "--number_of_epochs=4", "--hours=1", "--batch_size=2",
                    "--lr_adam=0.01", "--skip_threshold=1.0")
    losses = train_losses(out)
    assert sorted(losses) == [1, 2, 3, 4] and losses[4] < losses[1], losses
    after = json.loads((out / "results.json").read_text())["cv-test-after"]
    assert after["routed_layers"] == 3 * 2 * 2  # layers x feed-forward modules x linears
    packed = torch.load(out / "masks.pt")
    assert sum(int(torch.tensor(e["shape"]).prod()) for e in packed.values()) \
        == after["routed_weights"]
    assert after["mask_bytes"] == sum((int(torch.tensor(e["shape"]).prod()) + 7) // 8
                                      for e in packed.values())
    kept = torch.cat([unpack_mask(e).flatten() for e in packed.values()])
    assert abs(1 - kept.mean().item() - 0.1) < 0.01  # the sparsity asked for

    model = load_model(str(blank_skip_run), savedir=tmp_path / "orig").model
    original = model.state_dict()
    route(model.encoder, 0.1)  # the masks are a task over the routed encoder
    TaskRouter(model.encoder).add_task("commonvoice", packed, model.ctc_heads)
    (ckpt,) = (out / "save").glob("CKPT*/model.ckpt")
    tuned = torch.load(ckpt)
    routed = [k for k in tuned if k.endswith(".scores")]
    assert routed and all(
        torch.equal(tuned[k.replace(".scores", ".weight")],
                    original[k.replace(".scores", ".weight")]) for k in routed)
    heads = [k for k in tuned if not k.startswith("encoder.") and k in original]
    assert heads and any(not torch.equal(tuned[k], original[k]) for k in heads)
    assert "S3-Router: 12 linear layers routed" in log
