"""Tests of the LibriSpeech and Common Voice data preparation."""

import csv
import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.dataio.common_voice_prepare import prepare_common_voice
from speechbrain_ee.dataio.librispeech_prepare import (
    CSV_COLUMNS,
    prepare_librispeech,
)
from speechbrain_ee.dataio.text import normalize_text

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 16000
CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\n"


def write_audio(path, seconds, fmt=None):
    """A short sine tone plus noise; returns the number of samples."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rng = np.random.default_rng(n)
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SAMPLE_RATE, format=fmt)
    return n


def make_librispeech(root, split, utterances, extension=".flac"):
    """utterances: {utt_id: (seconds or None for no audio, transcript)}."""
    transcripts = {}
    for utt_id, (seconds, text) in utterances.items():
        speaker, chapter, _ = utt_id.split("-")
        folder = root / split / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        if seconds is not None:
            write_audio(folder / f"{utt_id}{extension}", seconds)
        if text is not None:
            transcripts.setdefault(folder / f"{speaker}-{chapter}", [])
            transcripts[folder / f"{speaker}-{chapter}"].append(
                f"{utt_id} {text}"
            )
    for stem, lines in transcripts.items():
        Path(f"{stem}.trans.txt").write_text("\n".join(lines) + "\n")


def make_common_voice(root, name, rows, header=CV_HEADER):
    """rows: (client_id, clip name, sentence, seconds or None)."""
    lines = [header]
    for client_id, clip, sentence, seconds in rows:
        if seconds is not None:
            write_audio(root / "clips" / clip, seconds, fmt="MP3")
        lines.append(f"{client_id}\t{clip}\t{sentence}\t2\t0\t\t\n")
    (root / "clips").mkdir(parents=True, exist_ok=True)
    (root / name).write_text("".join(lines), encoding="utf-8")
    return root / name


def read_rows(csv_path):
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


def skip_summary(caplog):
    return [r.getMessage() for r in caplog.records if "skipped" in r.message]


@pytest.fixture
def librispeech(tmp_path):
    root = tmp_path / "LibriSpeech"
    make_librispeech(
        root,
        "dev-clean",
        {
            "84-121123-0001": (0.5, "GO DO YOU HEAR"),
            "84-121123-0000": (0.25, "BUT IN LESS THAN FIVE MINUTES"),
            "174-50561-0000": (0.75, "FORGOTTEN TOO THE NAME OF GILLIAN"),
        },
    )
    make_librispeech(root, "test-clean", {"61-70968-0000": (0.5, "HE BEGAN")})
    return root


def test_librispeech_csv(librispeech, tmp_path):
    save = tmp_path / "save"
    csvs = prepare_librispeech(
        librispeech, save, dev_splits=["dev-clean"], te_splits=["test-clean"]
    )
    assert csvs == {s: save / f"{s}.csv" for s in ("dev-clean", "test-clean")}
    rows = read_rows(save / "dev-clean.csv")
    assert [r["ID"] for r in rows] == [
        "174-50561-0000",
        "84-121123-0000",
        "84-121123-0001",
    ]
    assert [float(r["duration"]) for r in rows] == [0.75, 0.25, 0.5]
    assert [r["spk_id"] for r in rows] == ["174", "84", "84"]
    assert rows[1]["wrd"] == "BUT IN LESS THAN FIVE MINUTES"
    for row in rows:
        wav = Path(row["wav"])
        assert wav.is_absolute() and wav.is_file()
        assert wav.name == row["ID"] + ".flac"
    assert len(read_rows(save / "test-clean.csv")) == 1


def test_librispeech_wav_any_split_and_select(tmp_path):
    utterances = {
        f"1-2-000{i}": (0.1 * (i + 1), f"WORD {i}") for i in range(4)
    }
    make_librispeech(tmp_path / "ls", "train-clean-5", utterances, ".wav")
    csvs = prepare_librispeech(
        tmp_path / "ls",
        tmp_path / "save",
        tr_splits=["train-clean-5"],
        select_n_sentences=2,
    )
    rows = read_rows(csvs["train-clean-5"])
    assert [r["ID"] for r in rows] == ["1-2-0000", "1-2-0001"]
    assert rows[1]["wav"].endswith("1-2-0001.wav")
    assert float(rows[1]["duration"]) == pytest.approx(0.2)


def test_librispeech_skip_and_redo(librispeech, tmp_path, caplog):
    save = tmp_path / "save"
    prepare_librispeech(librispeech, save, dev_splits=["dev-clean"])
    dev_csv = save / "dev-clean.csv"
    options = (save / "prepare_librispeech.json").read_text()
    assert "dev-clean" in options
    dev_csv.write_text(dev_csv.read_text() + "marker,1,x,1,KEPT\n")
    (save / "notes.txt").write_text("mine")

    with caplog.at_level(logging.INFO):
        prepare_librispeech(librispeech, save, dev_splits=["dev-clean"])
    assert "KEPT" in dev_csv.read_text()  # skipped: same options
    assert any("already prepared" in r.message for r in caplog.records)

    prepare_librispeech(
        librispeech, save, dev_splits=["dev-clean"], select_n_sentences=1
    )
    assert len(read_rows(dev_csv)) == 1  # options changed: redone
    prepare_librispeech(librispeech, save, te_splits=["test-clean"])
    assert (save / "test-clean.csv").is_file()
    assert dev_csv.is_file() and (save / "notes.txt").read_text() == "mine"


def test_librispeech_skip_prep_writes_nothing(tmp_path):
    csvs = prepare_librispeech(
        tmp_path / "absent", tmp_path / "save", ["dev-clean"], skip_prep=True
    )
    assert csvs == {"dev-clean": tmp_path / "save" / "dev-clean.csv"}
    assert not (tmp_path / "save").exists()


def test_librispeech_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.*expected"):
        prepare_librispeech(tmp_path / "absent", tmp_path, ["dev-clean"])


def test_librispeech_no_split_requested(librispeech, tmp_path):
    with pytest.raises(ValueError, match="No split"):
        prepare_librispeech(librispeech, tmp_path / "save")


def test_librispeech_missing_split(librispeech, tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        prepare_librispeech(
            librispeech, tmp_path / "save", ["train-clean-100"]
        )
    assert "train-clean-100" in str(error.value)
    assert "dev-clean, test-clean" in str(error.value)
    assert not (tmp_path / "save").exists()


def test_librispeech_bad_inputs_are_skipped(librispeech, tmp_path, caplog):
    chapter = librispeech / "dev-clean" / "84" / "121123"
    corrupt = chapter / "84-121123-0001.flac"
    corrupt.write_bytes(b"this is not a flac file" * 10)
    write_audio(chapter / "84-121123-0009.flac", 0.2)  # no transcript
    with open(chapter / "84-121123.trans.txt", "a") as f:
        f.write("84-121123-0002\n")  # empty transcript
        f.write("84-121123-0003 NO AUDIO FOR THIS ONE\n")
    with caplog.at_level(logging.WARNING):
        csvs = prepare_librispeech(
            librispeech, tmp_path / "save", ["dev-clean"]
        )
    ids = [r["ID"] for r in read_rows(csvs["dev-clean"])]
    assert ids == ["174-50561-0000", "84-121123-0000"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    for name in ("84-121123-0001.flac", "84-121123-0002", "84-121123-0003"):
        assert name in messages
    assert "84-121123-0009.flac" in messages
    (summary,) = skip_summary(caplog)
    assert "skipped 4 utterances" in summary
    assert "1 unreadable audio" in summary and "1 empty transcript" in summary


@pytest.fixture
def common_voice(tmp_path):
    root = tmp_path / "cv" / "en"
    rows = [
        ("spk_a", "common_voice_en_1.mp3", 'He said "Hi" to Mr. Brontë.', 1.0),
        ("spk_a", "common_voice_en_2.mp3", "It's 1961, isn’t it?", 0.5),
        ("spk_b", "common_voice_en_3.mp3", "I have 3 cats & 2 dogs", 0.75),
    ]
    make_common_voice(root, "test.tsv", rows)
    make_common_voice(root, "dev.tsv", [("spk_c", "cv_4.mp3", "dev one", 1)])
    return root


def test_common_voice_csv(common_voice, tmp_path):
    save = tmp_path / "save"
    csvs = prepare_common_voice(
        common_voice, save, test_tsv_file=common_voice / "test.tsv"
    )
    assert csvs == {"test": save / "test.csv"}
    assert not (save / "dev.csv").exists()  # only the TSV given
    rows = read_rows(save / "test.csv")
    assert [r["ID"] for r in rows] == [
        f"common_voice_en_{i}" for i in (1, 2, 3)
    ]
    assert [r["spk_id"] for r in rows] == ["spk_a", "spk_a", "spk_b"]
    assert [r["wrd"] for r in rows] == [
        "HE SAID HI TO MISTER BRONTE",
        "IT'S NINETEEN SIXTY ONE ISN'T IT",
        "I HAVE THREE CATS AND TWO DOGS",
    ]
    durations = [float(r["duration"]) for r in rows]
    assert durations == pytest.approx([1.0, 0.5, 0.75], abs=0.05)
    assert all(Path(r["wav"]).is_absolute() for r in rows)


def test_common_voice_default_tsvs_skip_and_redo(common_voice, tmp_path):
    save = tmp_path / "save"
    csvs = prepare_common_voice(common_voice, save)
    assert sorted(csvs) == ["dev", "test"]  # train.tsv absent: left out
    test_csv = save / "test.csv"
    test_csv.write_text(test_csv.read_text() + "marker,1,x,1,KEPT\n")
    prepare_common_voice(common_voice, save)
    assert "KEPT" in test_csv.read_text()  # same options: skipped
    prepare_common_voice(
        common_voice, save, test_tsv_file=common_voice / "test.tsv"
    )
    assert "KEPT" not in test_csv.read_text()  # options changed: redone
    assert (save / "dev.csv").is_file()


def test_common_voice_missing_folder_and_tsv(common_voice, tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.*clips"):
        prepare_common_voice(tmp_path / "absent", tmp_path / "save")
    with pytest.raises(FileNotFoundError, match="train_extra.tsv"):
        prepare_common_voice(
            common_voice,
            tmp_path / "save",
            train_tsv_file=common_voice / "train_extra.tsv",
        )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="test.tsv"):
        prepare_common_voice(empty, tmp_path / "save")


def test_common_voice_missing_column(common_voice, tmp_path):
    tsv = make_common_voice(
        common_voice, "bad.tsv", [], header="client_id\tpath\ttext\n"
    )
    with pytest.raises(ValueError, match="'sentence'.*bad.tsv"):
        prepare_common_voice(
            common_voice, tmp_path / "save", test_tsv_file=tsv
        )


def test_common_voice_bad_inputs_are_skipped(common_voice, tmp_path, caplog):
    (common_voice / "clips" / "broken.mp3").write_bytes(b"\x00garbage" * 50)
    rows = [
        ("s", "good.mp3", "fine", 0.5),
        ("s", "broken.mp3", "broken audio", None),
        ("s", "absent.mp3", "no audio", None),
        ("s", "silent.mp3", " ?! -- ", 0.5),
    ]
    tsv = make_common_voice(common_voice, "other.tsv", rows)
    with caplog.at_level(logging.WARNING):
        csvs = prepare_common_voice(
            common_voice, tmp_path / "save", test_tsv_file=tsv
        )
    assert [r["ID"] for r in read_rows(csvs["other"])] == ["good"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    for name in ("broken.mp3", "absent.mp3", "silent"):
        assert name in messages
    (summary,) = skip_summary(caplog)
    assert "skipped 3 utterances" in summary
    assert "1 unreadable audio" in summary and "1 empty sentence" in summary


def load_recipe(relative_path):
    spec = importlib.util.spec_from_file_location(
        Path(relative_path).stem, REPO_ROOT / relative_path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_entry_points(librispeech, common_voice, tmp_path, capsys):
    ls_recipe = load_recipe("recipes/LibriSpeech/librispeech_prepare.py")
    assert ls_recipe.prepare_librispeech is prepare_librispeech
    ls_recipe.main(
        [
            "--data_folder", str(librispeech),
            "--save_folder", str(tmp_path / "ls"),
            "--splits", "dev-clean", "test-clean",
        ]
    )  # fmt: skip
    assert len(read_rows(tmp_path / "ls" / "dev-clean.csv")) == 3
    assert ls_recipe.main(
        ["--data_folder", str(librispeech), "--save_folder",
         str(tmp_path / "ls"), "--splits", "test-other"]
    ) == 2  # fmt: skip
    assert "test-other" in capsys.readouterr().err

    cv_recipe = load_recipe("recipes/CommonVoice/common_voice_prepare.py")
    assert cv_recipe.prepare_common_voice is prepare_common_voice
    cv_recipe.main(
        [
            "--data_folder", str(common_voice),
            "--save_folder", str(tmp_path / "cv"),
            "--test_tsv_file", str(common_voice / "test.tsv"),
        ]
    )  # fmt: skip
    assert len(read_rows(tmp_path / "cv" / "test.csv")) == 3
    assert "test.csv" in capsys.readouterr().out


def test_real_librispeech(shared_dir, tmp_path, caplog):
    root = shared_dir / "data" / "real" / "librispeech"
    splits = ["test-clean", "dev-clean"]
    if not all((root / split).is_dir() for split in splits):
        pytest.skip(f"{root} lacks {splits}")
    with caplog.at_level(logging.WARNING):
        csvs = prepare_librispeech(
            root, tmp_path, dev_splits=["dev-clean"], te_splits=["test-clean"]
        )
    assert not skip_summary(caplog)
    for split in splits:
        rows = read_rows(csvs[split])
        n_audio = len(list((root / split).rglob("*.flac")))
        assert len(rows) == n_audio > 0
        for row in rows:
            assert 0.5 < float(row["duration"]) < 35
            assert row["ID"].startswith(row["spk_id"] + "-")
            assert normalize_text(row["wrd"]) == row["wrd"] != ""
            info = sf.info(row["wav"])
            assert info.frames / info.samplerate == float(row["duration"])


def test_real_common_voice_layout(shared_dir, tmp_path, caplog):
    root = shared_dir / "data" / "real" / "other"
    tsv = root / "test.tsv"
    if not tsv.is_file():
        pytest.skip(f"{tsv} is absent")
    with caplog.at_level(logging.WARNING):
        csvs = prepare_common_voice(root, tmp_path, test_tsv_file=tsv)
    assert not skip_summary(caplog)
    rows = read_rows(csvs["test"])
    with open(tsv, newline="", encoding="utf-8") as f:
        entries = list(
            csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        )
    assert len(rows) == len(entries) > 100
    for row, entry in zip(rows, entries):
        assert row["ID"] == Path(entry["path"]).stem
        assert row["spk_id"] == entry["client_id"]
        assert row["wrd"] == normalize_text(entry["sentence"]) != ""
        assert 0.1 < float(row["duration"]) < 60


def test_librispeech_split_of_linked_speakers(librispeech, tmp_path):
    """A split made of symbolic links to speaker folders is prepared."""
    linked = tmp_path / "Linked"
    (linked / "train-clean-100").mkdir(parents=True)
    for speaker in (librispeech / "dev-clean").iterdir():
        (linked / "train-clean-100" / speaker.name).symlink_to(speaker)
    csvs = prepare_librispeech(linked, tmp_path / "out",
                               tr_splits=["train-clean-100"])
    assert len(read_rows(csvs["train-clean-100"])) == 3


def test_librispeech_empty_split_is_an_error(tmp_path):
    root = tmp_path / "LibriSpeech"
    (root / "dev-clean" / "84" / "121123").mkdir(parents=True)
    with pytest.raises(ValueError, match="dev-clean holds no usable"):
        prepare_librispeech(root, tmp_path / "out", dev_splits=["dev-clean"])


def truncate(path):
    """Cuts a file in half, as a copy or download that stopped."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_audio_is_skipped_and_counted(librispeech, common_voice, tmp_path,
                                                caplog):
    """A file cut short keeps its header's duration: preparation reads its
    last frames, skips it and counts it (it ended epoch 1 before)."""
    truncate(librispeech / "dev-clean" / "84" / "121123" / "84-121123-0001.flac")
    truncate(common_voice / "clips" / "common_voice_en_2.mp3")
    with caplog.at_level(logging.WARNING):
        ls = prepare_librispeech(librispeech, tmp_path / "ls", ["dev-clean"])
        cv = prepare_common_voice(common_voice, tmp_path / "cv",
                                  test_tsv_file=common_voice / "test.tsv")
    assert "84-121123-0001" not in ls["dev-clean"].read_text()
    assert "common_voice_en_2" not in cv["test"].read_text()
    summaries = skip_summary(caplog)
    assert len(summaries) == 2 and all("1 unreadable audio" in s for s in summaries)
    assert "84-121123-0001.flac" in caplog.text and "truncated" in caplog.text


def test_non_utf8_transcripts_name_file_and_line(librispeech, common_voice, tmp_path,
                                                 capsys):
    trans = librispeech / "dev-clean" / "84" / "121123" / "84-121123.trans.txt"
    trans.write_bytes(trans.read_bytes() + "84-121123-0005 CAFÉ\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"84-121123.trans.txt, line 3: not UTF-8"):
        prepare_librispeech(librispeech, tmp_path / "ls", ["dev-clean"])
    tsv = common_voice / "test.tsv"
    tsv.write_bytes(tsv.read_bytes() + "s\tx.mp3\tCafé\t1\t0\t\t\n".encode("latin-1"))
    cv_recipe = load_recipe("recipes/CommonVoice/common_voice_prepare.py")
    status = cv_recipe.main(["--data_folder", str(common_voice), "--save_folder",
                             str(tmp_path / "cv"), "--test_tsv_file", str(tsv)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.strip().startswith("common_voice_prepare.py: error: ") and \
        "test.tsv, line 5: not UTF-8" in err


def test_a_hand_made_csv_is_kept(librispeech, common_voice, tmp_path, caplog):
    """No option file: the CSV is not a preparation's; it is kept as .bak."""
    save = tmp_path / "save"
    save.mkdir()
    (save / "dev-clean.csv").write_text("ID,duration,wav,spk_id,wrd\nmine,1,a,s,MINE\n")
    with caplog.at_level(logging.WARNING):
        prepare_librispeech(librispeech, save, ["dev-clean"])
    assert "MINE" in (save / "dev-clean.csv.bak").read_text()
    assert "MINE" not in (save / "dev-clean.csv").read_text()
    assert "dev-clean.csv.bak" in caplog.text
    (save / "cv").mkdir()
    (save / "cv" / "test.csv").write_text("mine\n")
    prepare_common_voice(common_voice, save / "cv", test_tsv_file=common_voice / "test.tsv")
    assert (save / "cv" / "test.csv.bak").read_text() == "mine\n"


def test_common_voice_path_outside_clips_is_rejected(common_voice, tmp_path, caplog):
    write_audio(common_voice / "secret.mp3", 0.5, fmt="MP3")  # beside clips/
    rows = [("s", "common_voice_en_1.mp3", "inside", None),
            ("s", "../secret.mp3", "outside", None),
            ("s", str(common_voice / "secret.mp3"), "absolute", None)]
    tsv = make_common_voice(common_voice, "other.tsv", rows)
    with caplog.at_level(logging.WARNING):
        csvs = prepare_common_voice(common_voice, tmp_path / "save", test_tsv_file=tsv)
    assert [r["wrd"] for r in read_rows(csvs["other"])] == ["INSIDE"]
    assert "2 path outside clips/" in " ".join(skip_summary(caplog))


def test_a_read_only_save_folder_is_one_line(librispeech, tmp_path, monkeypatch, capsys):
    """The system's error (here EROFS, as a read-only disk gives it) in one
    line naming the folder, exit status 1."""
    import errno

    import speechbrain_ee.dataio.librispeech_prepare as prep

    def read_only(rows, csv_path, *args):
        raise OSError(errno.EROFS, "Read-only file system", str(csv_path))

    monkeypatch.setattr(prep, "write_csv", read_only)
    ls_recipe = load_recipe("recipes/LibriSpeech/librispeech_prepare.py")
    status = ls_recipe.main(["--data_folder", str(librispeech), "--save_folder",
                             str(tmp_path / "ro"), "--splits", "dev-clean"])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert "dev-clean.csv: Read-only file system; choose a writable folder" in err
