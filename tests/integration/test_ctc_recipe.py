"""Integration: the baseline CTC recipe trains on a tiny generated corpus,
its loss falls, it resumes from its checkpoint (exactly) and it scores both
test sets; reruns keep a finished run intact; ordinary mistakes and a
damaged audio file do not end in a traceback.
"""

import json
import subprocess
import sys

import pytest

from tests.integration.recipe_runs import RECIPES, run_recipe as run
from tests.integration.recipe_runs import train_losses

RECIPE = RECIPES / "CTC"
TINY_MODEL = [
    "--d_model=48", "--num_encoder_layers=2", "--d_ffn=96", "--nhead=4",
    "--lr_adam=0.002", "--warmup_steps=10",
    "--max_batch_length_train=30", "--test_beam_size=4",
]


def run_recipe(hparams, corpora, output_folder, *extra, model=TINY_MODEL, status=0):
    """Runs the CTC train.py in a subprocess; returns its combined output
    (the test fails unless its exit status is ``status``)."""
    return run("CTC", hparams, corpora, output_folder, *model, *extra, status=status)


def test_trains_resumes_and_scores(tiny_corpora, tmp_path):
    out = tmp_path / "run"
    run_recipe("conformer_ctc.yaml", tiny_corpora, out,
               "--number_of_epochs=4")
    losses = train_losses(out)
    assert sorted(losses) == [1, 2, 3, 4]
    assert losses[4] < 0.8 * losses[1], losses

    log = run_recipe("conformer_ctc.yaml", tiny_corpora, out,
                     "--number_of_epochs=5")
    assert "Loading a checkpoint" in log
    assert sorted(train_losses(out)) == [1, 2, 3, 4, 5]  # epoch 5 only added

    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for stats in results.values():
        for key in ("WER", "CER", "beam_WER", "beam_CER", "lexicon_WER", "lexicon_CER"):
            assert 0 <= stats[key] <= 200
    for name in ("test-clean", "cv-test"):
        for tag in ("greedy", "beam", "lexicon"):
            assert (out / f"wer_{name}_{tag}.txt").is_file()
    # the lexicon: the words of the training transcripts and of the LM text
    train_words = set(" ".join(
        line.split(",")[-1] for line in (out / "save" / "train.csv").read_text().splitlines()[1:]
    ).split())
    lm_text = tiny_corpora["librispeech-lm"] / "librispeech-lm-norm.txt"
    words = train_words | set(lm_text.read_text().split())
    assert len(words) > len(train_words)
    lexicon_hyps = (out / "wer_test-clean_lexicon.txt").read_text()
    assert lexicon_hyps and "lexicon.txt" not in lexicon_hyps
    lexicon = (out / "save" / "lexicon.txt").read_text().splitlines()
    assert {line.split("\t")[0] for line in lexicon} == words
    assert (out / "save" / "lm.arpa").is_file()  # the YAML's trigram of the same text
    # tools/lexicon_rescore.py scores the trained run again: at the YAML's
    # language-model setting it gives what the recipe gave
    rescore = subprocess.run(
        [sys.executable, str(RECIPE.parents[3] / "tools" / "lexicon_rescore.py"), str(out),
         "--lm-weights", "0.75", "--word-scores", "0.0"],
        capture_output=True, text=True, timeout=300)
    assert rescore.returncode == 0, rescore.stderr[-2000:]
    again = json.loads((out / "lexicon_rescore.json").read_text())
    assert again["lm"] == {"order": 3, "lm_weight": 0.75, "word_score": 0.0,
                           "lm_text": str(lm_text)}
    assert again["sets"]["test-clean"]["lm_WER"] == pytest.approx(
        results["test-clean"]["lexicon_WER"], abs=0.01)


def test_missing_data_folder_is_named(tmp_path):
    cmd = [
        sys.executable, str(RECIPE / "train.py"),
        str(RECIPE / "hparams" / "conformer_ctc.yaml"),
        f"--data_folder={tmp_path / 'nowhere'}", "--cv_data_folder=null",
        f"--output_folder={tmp_path / 'run'}", "--device=cpu",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "nowhere" in proc.stdout + proc.stderr


SUMMARY_MIXING_TINY = {
    "conformer_summarymixing_ctc.yaml": ["--d_ffn=96"],
    "branchformer_summarymixing_ctc.yaml": ["--csgu_linear_units=96"],
}


@pytest.mark.parametrize("hparams", sorted(SUMMARY_MIXING_TINY))
def test_summary_mixing_recipes_train_and_score(tiny_corpora, tmp_path,
                                                hparams):
    """The SummaryMixing YAMLs train and score through the same train.py."""
    out = tmp_path / "run"
    model = [
        "--d_model=48", "--num_encoder_layers=2", "--nhead=4",
        "--local_proj_hid_dim=[48]", "--summary_hid_dim=[48]",
        "--lr_adam=0.002", "--warmup_steps=10",
        "--max_batch_length_train=30", "--test_beam_size=4",
        *SUMMARY_MIXING_TINY[hparams],
    ]
    run_recipe(hparams, tiny_corpora, out, "--number_of_epochs=3",
               model=model)
    losses = train_losses(out)
    assert losses[3] < losses[1], losses
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}


def test_time_budget_stops_mid_epoch(tiny_corpora, tmp_path):
    from speechbrain_ee.training import read_train_log

    out = tmp_path / "run"
    small_batches = [a for a in TINY_MODEL if "max_batch_length_train" not in a]
    log = run_recipe("conformer_ctc.yaml", tiny_corpora, out, "--number_of_epochs=50",
                     "--max_train_minutes=0.0001", "--max_batch_length_train=5",
                     model=small_batches)
    assert "budget spent after optimiser step 1" in log
    epochs = read_train_log(out)
    # one step of the first epoch (of about 20), then its validation and the test
    assert [(e["epoch"], e["steps"]) for e in epochs] == [(1, 1)]
    assert set(json.loads((out / "results.json").read_text())) == {"test-clean", "cv-test"}


EXACT = ["--progress_interval=1", "--lr_cooldown=null", "--augment_start_step=0"]


@pytest.fixture(scope="module")
def whole_and_resumed(tiny_corpora, tmp_path_factory):
    """Three epochs of the tiny CTC model (augmentation from the first step,
    the loss of every step in progress.csv) in one run, and in a run stopped
    after epoch 1 and run again."""
    root = tmp_path_factory.mktemp("resume")
    whole, resumed = root / "whole", root / "resumed"
    run_recipe("conformer_ctc.yaml", tiny_corpora, whole, "--number_of_epochs=3", *EXACT)
    for epochs in (1, 3):
        run_recipe("conformer_ctc.yaml", tiny_corpora, resumed,
                   f"--number_of_epochs={epochs}", *EXACT)
    return whole, resumed


def one_error_line(output, prog="train.py"):
    """The command's one error line (no traceback)."""
    lines = [line for line in output.splitlines() if line.startswith(f"{prog}: error: ")]
    assert len(lines) == 1 and "Traceback" not in output, output[-3000:]
    return lines[0]


def test_resume_is_exact(whole_and_resumed):
    """Dropout, noise and augmentation draw from random states the
    checkpoint saves: the resumed run's every step has the uninterrupted
    run's loss."""
    from speechbrain_ee.training import read_progress

    from .recipe_runs import epoch_steps

    whole, resumed = whole_and_resumed
    first = epoch_steps(resumed)[1]
    assert epoch_steps(whole) == epoch_steps(resumed)
    steps = [(step, loss) for step, _, loss in read_progress(whole)]
    assert len(steps) > first + 2
    assert [(step, loss) for step, _, loss in read_progress(resumed)] == steps


def test_rerun_with_other_model_options_is_refused(whole_and_resumed, tiny_corpora,
                                                   tmp_path):
    """Refused before anything is written, the differing keys named; the
    run still exports. Budgets and test options may change."""
    from speechbrain_ee.inference.export import export_run

    whole, _ = whole_and_resumed
    saved = (whole / "hyperparams.yaml").read_text()
    bigger = [a.replace("--d_model=48", "--d_model=64") for a in TINY_MODEL]
    out = run_recipe("conformer_ctc.yaml", tiny_corpora, whole, "--number_of_epochs=3",
                     *EXACT, model=bigger, status=2)
    line = one_error_line(out)
    assert "d_model: 48 -> 64" in line and "--output_folder" in line
    assert (whole / "hyperparams.yaml").read_text() == saved
    export_run(whole, tmp_path / "model")  # loads it back and transcribes


def test_rerun_of_a_finished_run_logs_each_test_once(whole_and_resumed, tiny_corpora):
    _, resumed = whole_and_resumed
    run_recipe("conformer_ctc.yaml", tiny_corpora, resumed, "--number_of_epochs=3",
               "--test_beam_size=2", *EXACT, model=[a for a in TINY_MODEL
                                                    if "test_beam_size" not in a])
    log = (resumed / "train_log.txt").read_text()
    assert log.count("test set: test-clean, epochs trained: 3 ") == 1
    assert log.count("test set: cv-test, epochs trained: 3 ") == 1
    assert [int(line.split(",")[0][7:]) for line in log.splitlines()
            if line.startswith("epoch:")] == [1, 2, 3]


def test_a_file_damaged_after_preparation_does_not_end_training(tiny_corpora,
                                                                tmp_path):
    """The loader leaves the utterance out with a warning naming the file."""
    import csv
    import shutil

    corpora = dict(tiny_corpora, librispeech=tmp_path / "mini-librispeech")
    shutil.copytree(tiny_corpora["librispeech"], corpora["librispeech"])
    out = tmp_path / "run"
    run_recipe("conformer_ctc.yaml", corpora, out, "--number_of_epochs=1")
    with open(out / "save" / "train.csv", newline="") as f:
        damaged = next(csv.DictReader(f))["wav"]
    data = open(damaged, "rb").read()
    open(damaged, "wb").write(data[: len(data) // 2])
    log = run_recipe("conformer_ctc.yaml", corpora, out, "--number_of_epochs=2")
    assert damaged in log and "left out of its batch" in log
    assert sorted(train_losses(out)) == [1, 2]


def test_ordinary_mistakes_are_one_line_before_preparation(tiny_corpora, tmp_path):
    """A misspelt option (with the closest key) and a device this machine
    lacks: one line, status 2, nothing prepared."""
    import torch

    out = tmp_path / "run"
    log = run_recipe("conformer_ctc.yaml", tiny_corpora, out, "--number_of_epochs=1",
                     "--num_encoder_layer=3", status=2)
    assert "did you mean --num_encoder_layers?" in one_error_line(log)
    if not torch.cuda.is_available():
        log = run_recipe("conformer_ctc.yaml", tiny_corpora, out, "--number_of_epochs=1",
                         "--device=cuda", status=2)
        assert "--device cuda: this machine has no CUDA GPU" in one_error_line(log)
    assert not (out / "save").exists()
