"""Tests of the tokenizer step and audio loading."""

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.dataio.tokenizer import train_tokenizer

SENTENCES = [
    "THE CAT SAT ON THE MAT", "A DOG RAN IN THE PARK",
    "SHE SOLD SEA SHELLS BY THE SEA SHORE", "HE DIDN'T KNOW THE WAY HOME",
    "WE WALKED ALONG THE RIVER AT DAWN", "THEY BUILT A HOUSE OF STONE",
] * 5


def write_csv(path, sentences, column="wrd"):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"ID,duration,wav,spk_id,{column}\n")
        for i, s in enumerate(sentences):
            f.write(f"u{i},1.0,u{i}.flac,1,{s}\n")
    return str(path)


def test_tokenizer_round_trip_and_reuse(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    sp = train_tokenizer(tmp_path / "tok", 40, csv_path)
    assert sp.vocab_size() == 40
    assert sp.id_to_piece(0) == "<unk>"  # the CTC blank
    for s in SENTENCES[:6]:
        assert sp.decode_ids(sp.encode_as_ids(s)) == s
    model = tmp_path / "tok" / "40_unigram.model"
    stamp = model.stat().st_mtime_ns
    train_tokenizer(tmp_path / "tok", 40, csv_path)
    assert model.stat().st_mtime_ns == stamp  # loaded, not retrained


def test_tokenizer_reserves_bos_and_eos(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    sp = train_tokenizer(tmp_path / "tok", 40, csv_path, bos_id=1, eos_id=2)
    assert [sp.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert not {1, 2} & set(sp.encode_as_ids(SENTENCES[0]))
    train_tokenizer(tmp_path / "tok", 40, csv_path, bos_id=1, eos_id=2)


def test_tokenizer_refuses_a_model_with_other_special_ids(tmp_path):
    """A CTC recipe's tokenizer (no bos/eos) is not silently reused by an
    attention recipe with the same save folder."""
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    train_tokenizer(tmp_path / "tok", 40, csv_path)
    with pytest.raises(ValueError, match="bos/eos"):
        train_tokenizer(tmp_path / "tok", 40, csv_path, bos_id=1, eos_id=2)


def test_tokenizer_missing_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        train_tokenizer(tmp_path, 40, str(tmp_path / "missing.csv"))


def test_tokenizer_csv_without_wrd(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES, column="text")
    with pytest.raises(ValueError, match="'wrd'"):
        train_tokenizer(tmp_path, 40, csv_path)


def test_tokenizer_vocab_too_large(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    with pytest.raises(ValueError, match="output_neurons"):
        train_tokenizer(tmp_path / "tok", 5000, csv_path)


def test_char_tokenizer_larger_than_the_ctc_output(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    with pytest.raises(ValueError, match="output_neurons=5"):
        train_tokenizer(tmp_path / "tok", 5, csv_path, model_type="char")
    assert train_tokenizer(tmp_path / "tok2", 29, csv_path, model_type="char").get_piece_size() <= 29


def test_char_tokenizer_alphabet(tmp_path):
    csv_path = write_csv(tmp_path / "train.csv", SENTENCES)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
    sp = train_tokenizer(tmp_path / "a", 29, csv_path, model_type="char", alphabet=alphabet)
    # every letter has its id, whether or not the text has it
    assert [sp.id_to_piece(i) for i in range(1, 28)] == list(alphabet)
    with pytest.raises(ValueError, match="set output_neurons: 29"):
        train_tokenizer(tmp_path / "b", 40, csv_path, model_type="char", alphabet=alphabet)
    with pytest.raises(ValueError, match="outside the alphabet"):
        train_tokenizer(tmp_path / "c", 5, csv_path, model_type="char", alphabet="ABC")
    with pytest.raises(ValueError, match="token_type: char"):
        train_tokenizer(tmp_path / "d", 29, csv_path, alphabet=alphabet)


def test_load_audio_resamples_and_mixes(tmp_path):
    t = np.arange(8000) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1).astype("float32")
    path = tmp_path / "a.flac"
    sf.write(path, stereo, 8000)
    x = load_audio(str(path), 16000)
    assert x.shape == (16000,)
    assert torch.isclose(x.abs().max(), torch.tensor(1.0), atol=0.05)


def test_load_audio_names_bad_file(tmp_path):
    path = tmp_path / "bad.flac"
    path.write_bytes(b"not audio")
    with pytest.raises(RuntimeError, match="bad.flac"):
        load_audio(str(path))
