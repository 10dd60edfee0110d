"""Integration: the joint CTC+attention recipe trains on a tiny generated
corpus, its loss falls, it resumes from its checkpoint and it scores both
test sets with the attention beam search (CTC prefix scores)."""

import json

from tests.integration.recipe_runs import run_recipe, train_losses

TINY_MODEL = [
    "--d_model=48", "--num_encoder_layers=2", "--num_decoder_layers=1",
    "--d_ffn=96", "--nhead=4", "--local_proj_hid_dim=[48]",
    "--summary_hid_dim=[48]", "--output_neurons=40", "--lr_adam=0.002",
    "--warmup_steps=10", "--max_batch_length_train=30",
    "--valid_beam_size=2", "--test_beam_size=2", "--max_decode_ratio=0.5",
]


def test_trains_resumes_and_scores(tiny_corpora, tmp_path):
    out = tmp_path / "run"
    run_recipe("transformer", "conformer_summarymixing.yaml", tiny_corpora,
               out, *TINY_MODEL, "--number_of_epochs=3")
    losses = train_losses(out)
    assert sorted(losses) == [1, 2, 3]
    assert losses[3] < 0.9 * losses[1], losses
    log = (out / "train_log.txt").read_text()
    assert "valid WER" in log  # the beam search ran on dev (last epoch)

    log = run_recipe("transformer", "conformer_summarymixing.yaml",
                     tiny_corpora, out, *TINY_MODEL, "--number_of_epochs=4")
    assert "Loading a checkpoint" in log
    assert sorted(train_losses(out)) == [1, 2, 3, 4]  # epoch 4 only added

    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"test-clean", "cv-test"}
    for stats in results.values():
        for key in ("WER", "CER", "ctc_greedy_WER", "ctc_greedy_CER"):
            assert 0 <= stats[key] <= 300
        assert 0 <= stats["ACC"] <= 1
    for name in ("test-clean", "cv-test"):
        for tag in ("beam", "ctc_greedy"):
            assert (out / f"wer_{name}_{tag}.txt").is_file()
