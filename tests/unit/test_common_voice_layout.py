"""Tests of the Common Voice preparation on the real release layout: the
extra columns, sentences that cannot be mapped to the LibriSpeech set,
missing clips, speakers shared between TSVs and the low-resource subset."""

import json
import logging

import pytest

from speechbrain_ee.analysis.wer_groups import group_wer, present_columns, tsv_groups
from speechbrain_ee.dataio.common_voice_prepare import (
    SKIPPED_FILE,
    hours_subset,
    prepare_common_voice,
    read_skipped,
    shared_speakers,
)
from speechbrain_ee.errors import error_line

from .test_prepare import read_rows, write_audio

# The columns of a Common Voice release's TSVs (cv-corpus-17.0 and later).
HEADER = ("client_id", "path", "sentence_id", "sentence", "sentence_domain",
          "up_votes", "down_votes", "age", "gender", "accents", "variant",
          "locale", "segment")


def release(root, name, rows):
    """A TSV with every column of a release; rows: (client_id, clip,
    sentence, seconds or None, gender, accents)."""
    lines = ["\t".join(HEADER)]
    for client_id, clip, sentence, seconds, gender, accents in rows:
        if seconds is not None:
            write_audio(root / "clips" / clip, seconds, fmt="MP3")
        lines.append("\t".join([client_id, clip, "sid", sentence, "", "2", "0",
                                "twenties", gender, accents, "", "en", ""]))
    (root / "clips").mkdir(parents=True, exist_ok=True)
    (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / name


@pytest.fixture
def cv(tmp_path):
    root = tmp_path / "cv-corpus" / "en"
    release(root, "test.tsv", [
        ("spk_a", "common_voice_en_1.mp3", 'He said "Hi" to Mr. Brontë.', 0.5,
         "male_masculine", "Scottish English"),
        ("spk_b", "common_voice_en_2.mp3", "It's 5 o'clock — 3 + 4 = 7!", 0.5,
         "", "India and South Asia (India, Pakistan, Sri Lanka)"),
        ("spk_b", "common_voice_en_3.mp3", "Tokyo is 東京 in Japanese", 0.5,
         "female_feminine", ""),
    ])
    release(root, "train.tsv", [
        ("spk_c", f"common_voice_en_1{i}.mp3", f"train {i}", 0.5, "", "")
        for i in range(4)])
    return root


def test_real_layout_columns_unmappable_sentences_and_groups(cv, tmp_path, caplog):
    save = tmp_path / "save"
    with caplog.at_level(logging.WARNING):
        csvs = prepare_common_voice(cv, save, test_tsv_file=cv / "test.tsv",
                                    missing_audio="error")
    rows = read_rows(csvs["test"])
    assert [r["wrd"] for r in rows] == [
        "HE SAID HI TO MISTER BRONTE", "IT'S FIVE O'CLOCK THREE PLUS FOUR EQUALS SEVEN"]
    # the sentence with characters that cannot be mapped: counted, named
    assert "東京" in caplog.text and "1 unmappable characters" in caplog.text
    assert read_skipped(save)["test"] == {
        "tsv": str(cv / "test.tsv"), "kept": 2, "skipped": {"unmappable characters": 1}}
    # the extra columns group the per-utterance errors
    columns = present_columns(cv / "test.tsv", ["accents", "accent", "gender", "client_id"])
    assert columns == ["accents", "gender", "client_id"]
    groups = tsv_groups(cv / "test.tsv", columns)
    wer = group_wer({"common_voice_en_1": (1, 6), "common_voice_en_2": (3, 8)}, groups)
    assert wer["accents: Scottish English"]["WER"] == pytest.approx(100 / 6, abs=0.01)
    assert wer["gender: (none)"]["utterances"] == 1
    assert wer["client_id: spk_b"]["words"] == 8


def test_missing_clip_is_skipped_and_counted_or_an_error(cv, tmp_path, caplog):
    (cv / "clips" / "common_voice_en_2.mp3").unlink()
    with caplog.at_level(logging.WARNING):
        csvs = prepare_common_voice(cv, tmp_path / "a", test_tsv_file=cv / "test.tsv")
    assert [r["ID"] for r in read_rows(csvs["test"])] == ["common_voice_en_1"]
    assert read_skipped(tmp_path / "a")["test"]["skipped"] == {
        "missing audio": 1, "unmappable characters": 1}
    with pytest.raises(FileNotFoundError) as err:
        prepare_common_voice(cv, tmp_path / "b", test_tsv_file=cv / "test.tsv",
                             missing_audio="error")
    status, line = error_line(err.value)
    assert status == 2 and "\n" not in line
    assert "test.tsv:3: clip" in line and "common_voice_en_2.mp3 not found" in line


def test_a_tsv_with_no_usable_clip_or_a_missing_column_is_an_error(cv, tmp_path):
    for clip in (cv / "clips").glob("common_voice_en_1*.mp3"):
        clip.unlink()
    with pytest.raises(ValueError, match=r"train.tsv: none of its 4 clips is usable "
                                         r"\(4 missing audio\)"):
        prepare_common_voice(cv, tmp_path / "s", train_tsv_file=cv / "train.tsv")
    text = (cv / "test.tsv").read_text().replace("\tsentence\t", "\ttext\t", 1)
    (cv / "bad.tsv").write_text(text)
    with pytest.raises(ValueError, match="Column 'sentence' missing from .*bad.tsv"):
        prepare_common_voice(cv, tmp_path / "s", test_tsv_file=cv / "bad.tsv")
    with pytest.raises(ValueError, match="missing_audio"):
        prepare_common_voice(cv, tmp_path / "s", missing_audio="ignore")


def test_shared_speakers_are_found_and_logged(cv, tmp_path, caplog):
    assert shared_speakers([cv / "train.tsv", cv / "test.tsv"]) == {}
    release(cv, "dev.tsv", [("spk_b", "common_voice_en_3.mp3", "dev", None, "", "")])
    release(cv, "validated.tsv", [("spk_a", "common_voice_en_1.mp3", "v", None, "", "")])
    tsvs = [cv / f"{n}.tsv" for n in ("train", "dev", "test", "validated")]
    assert shared_speakers(tsvs) == {("dev.tsv", "test.tsv"): {"spk_b"}}
    with caplog.at_level(logging.WARNING):
        prepare_common_voice(cv, tmp_path / "s", dev_tsv_file=cv / "dev.tsv",
                             test_tsv_file=cv / "test.tsv")
    assert "dev.tsv and test.tsv share 1 speakers" in caplog.text


def test_hours_subset_takes_the_first_hours(cv, tmp_path):
    csvs = prepare_common_voice(cv, tmp_path / "s", train_tsv_file=cv / "train.tsv")
    count, hours = hours_subset(csvs["train"], 1.2 / 3600, tmp_path / "sub.csv")
    assert count == 3 and hours == pytest.approx(1.5 / 3600, rel=0.05)
    assert [r["ID"] for r in read_rows(tmp_path / "sub.csv")] == [
        f"common_voice_en_1{i}" for i in range(3)]
    assert hours_subset(csvs["train"], 10, tmp_path / "all.csv")[0] == 4
    with pytest.raises(ValueError, match="hours=0"):
        hours_subset(csvs["train"], 0, tmp_path / "none.csv")


def test_real_common_voice_layout_maps_every_sentence(shared_dir, tmp_path):
    root = shared_dir / "data" / "real" / "other"
    if not (root / "test.tsv").is_file():
        pytest.skip(f"{root / 'test.tsv'} is absent")
    csvs = prepare_common_voice(root, tmp_path, test_tsv_file=root / "test.tsv",
                                missing_audio="error")
    report = json.loads((tmp_path / SKIPPED_FILE).read_text())["test"]
    assert report["skipped"] == {} and report["kept"] == len(read_rows(csvs["test"])) > 100


@pytest.mark.parametrize("name", ["ood_eval.yaml", "finetune_ctc.yaml"])
def test_recipe_yamls_build(name, tmp_path):
    from hyperpyyaml import load_hyperpyyaml

    from .test_prepare import REPO_ROOT

    path = REPO_ROOT / "recipes" / "CommonVoice" / "ASR" / "CTC" / "hparams" / name
    with open(path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, {"output_folder": str(tmp_path)})
    assert hparams["exit_strategy"] is None and hparams["exit_options"] == {}
    assert hparams["data_folder"] == "corpora/mini-commonvoice"
    assert ("train_tsv" in hparams) == (name == "finetune_ctc.yaml")
