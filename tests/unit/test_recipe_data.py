"""Tests of the recipes' shared data steps: datasets with and without the
bos/eos targets of attention decoders."""

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.dataio.recipe_data import dataio_prepare, named_test_csvs
from speechbrain_ee.dataio.tokenizer import train_tokenizer

SENTENCES = ["THE CAT SAT ON THE MAT", "A DOG RAN IN THE PARK",
             "SHE SOLD SEA SHELLS", "WE WALKED ALONG THE RIVER"] * 3


@pytest.fixture
def hparams(tmp_path):
    """CSVs of a few one-second utterances, and the keys dataio_prepare
    reads."""
    audio = np.zeros(16000, dtype="float32")
    rows = []
    for i, sentence in enumerate(SENTENCES):
        path = tmp_path / f"u{i}.flac"
        sf.write(path, audio, 16000)
        rows.append(f"u{i},1.0,{path},1,{sentence}")
    csv_path = tmp_path / "all.csv"
    csv_path.write_text("ID,duration,wav,spk_id,wrd\n" + "\n".join(rows))
    return {
        "data_folder": str(tmp_path), "train_csv": str(csv_path),
        "valid_csv": str(csv_path), "test_csvs": [str(csv_path)],
        "cv_data_folder": None, "save_folder": str(tmp_path),
        "sorting": "ascending", "avoid_if_longer_than": 20.0,
        "sample_rate": 16000,
    }


def test_ctc_items_have_tokens_only(hparams):
    tok = train_tokenizer(hparams["save_folder"], 25, hparams["train_csv"])
    train, _, tests = dataio_prepare(hparams, tok)
    item = train[0]
    assert set(item) == {"id", "sig", "wrd", "tokens"}
    assert list(tests) == ["all"]


def test_attention_items_have_bos_and_eos_targets(hparams):
    tok = train_tokenizer(hparams["save_folder"], 25, hparams["train_csv"],
                          bos_id=1, eos_id=2)
    train, valid, _ = dataio_prepare(hparams, tok, bos_index=1, eos_index=2)
    item = valid[0]
    tokens = item["tokens"].tolist()
    assert tokens == tok.encode_as_ids(item["wrd"])
    assert item["tokens_bos"].tolist() == [1] + tokens
    assert item["tokens_eos"].tolist() == tokens + [2]
    assert item["sig"].shape == (16000,)


def test_bos_without_eos_is_refused(hparams):
    with pytest.raises(ValueError, match="bos_index and eos_index"):
        dataio_prepare(hparams, None, bos_index=1)


def test_cv_test_set_is_named():
    sets = named_test_csvs({"test_csvs": ["s/test-clean.csv"],
                      "cv_data_folder": "cv", "cv_test_tsv": "test.tsv",
                      "save_folder": "s"})
    assert list(sets) == ["test-clean", "cv-test"]


def test_validation_subset_is_a_fixed_share(hparams):
    from speechbrain_ee.dataio.recipe_data import in_subset

    hparams["valid_subset_share"] = 0.5
    train, valid, _ = dataio_prepare(hparams, None)
    kept = [valid[i]["id"] for i in range(len(valid))]
    assert len(train) == len(SENTENCES)
    assert kept and len(kept) < len(SENTENCES)
    assert sorted(kept) == sorted(f"u{i}" for i in range(len(SENTENCES))
                                  if in_subset(f"u{i}", 0.5))


def test_training_corpus_choice_is_checked(tmp_path):
    from speechbrain_ee.dataio.recipe_data import corpus_csv, prepare_data

    assert corpus_csv("s", "commonvoice", "valid") == "s/cv/dev.csv"
    with pytest.raises(ValueError, match="train_corpus 'timit'"):
        corpus_csv("s", "timit", "train")
    base = {"data_folder": str(tmp_path), "save_folder": str(tmp_path),
            "train_splits": [], "dev_splits": [], "test_splits": [],
            "skip_prep": True, "train_csv": str(tmp_path / "train.csv")}
    with pytest.raises(ValueError, match="expected one of"):
        prepare_data(dict(base, train_corpus="timit"))
    with pytest.raises(ValueError, match="needs cv_data_folder"):
        prepare_data(dict(base, train_corpus="commonvoice",
                          cv_data_folder=None))


def test_an_unreadable_file_is_left_out_of_its_batch(hparams, tmp_path, caplog):
    """A file damaged after preparation costs its utterance, with a warning
    naming it, not the run; a batch of such files only is None, which the
    recipes' Brain skips."""
    import logging

    import speechbrain as sb

    from speechbrain_ee.training import BudgetedBrain

    (tmp_path / "u1.flac").write_bytes(b"damaged" * 30)
    hparams["sorting"] = "random"
    train, _, _ = dataio_prepare(hparams, None)
    brain = BudgetedBrain(modules={}, hparams={}, run_opts={"device": "cpu"})
    with caplog.at_level(logging.WARNING):
        loader = brain.make_dataloader(train, sb.Stage.TEST, batch_size=4)
        batches = list(loader)
    ids = [uid for batch in batches for uid in batch.id]
    assert sorted(ids) == sorted(f"u{i}" for i in range(len(SENTENCES)) if i != 1)
    assert "u1.flac" in caplog.text and "left out" in caplog.text
    assert brain.evaluate_batch(None, sb.Stage.TEST) == 0
