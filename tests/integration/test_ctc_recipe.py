"""Integration: the baseline CTC recipe trains on a tiny generated corpus,
its loss falls, it resumes from its checkpoint and it scores both test sets.
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


def run_recipe(hparams, corpora, output_folder, *extra, model=TINY_MODEL):
    """Runs the CTC train.py in a subprocess; returns its combined output."""
    return run("CTC", hparams, corpora, output_folder, *model, *extra)


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
