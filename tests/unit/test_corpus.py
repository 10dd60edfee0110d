"""Tests of the built-in corpora (tiny preset)."""

import argparse
import csv
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_ee.dataio import corpus as corpus_module
from speechbrain_ee.dataio.corpus import (
    COMMONVOICE_SPLITS,
    LIBRISPEECH_SPLITS,
    TSV_COLUMNS,
    CorpusConfig,
    SplitSize,
    add_arguments,
    build_corpora,
    preset_config,
    run,
)
from speechbrain_ee.dataio.synthesis import SEVERITIES

pytestmark = pytest.mark.skipif(
    any(shutil.which(p) is None for p in ("espeak-ng", "flite", "festival")),
    reason="espeak-ng, flite and festival are needed (bash tools/install.sh)",
)
SEED = 5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny corpora, built once (two worker processes)."""
    return build_corpora(tmp_path_factory.mktemp("tiny"), preset="tiny", seed=SEED, workers=2)


def read_transcripts(root):
    """Utterance id -> transcript over every trans.txt of a LibriSpeech folder."""
    out = {}
    for path in sorted(Path(root).rglob("*.trans.txt")):
        for line in path.read_text().splitlines():
            utt_id, text = line.split(" ", 1)
            out[utt_id] = text
    return out


def read_audio(root, pattern):
    """Relative path -> samples of every audio file matching ``pattern``."""
    return {
        str(p.relative_to(root)): sf.read(p, dtype="int16")[0]
        for p in sorted(Path(root).rglob(pattern))
    }


def test_librispeech_layout(tiny):
    root = tiny["librispeech"]
    config = preset_config("tiny")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(LIBRISPEECH_SPLITS)
    for split, size in zip(LIBRISPEECH_SPLITS, config.splits):
        speakers = [p for p in (root / split).iterdir()]
        assert len(speakers) == size.speakers
        for speaker in speakers:
            assert speaker.name.isdigit()
            chapters = list(speaker.iterdir())
            assert len(chapters) == size.chapters
            for chapter in chapters:
                assert chapter.name.isdigit()
                prefix = f"{speaker.name}-{chapter.name}"
                flacs = sorted(p.name for p in chapter.glob("*.flac"))
                assert flacs == [f"{prefix}-{i:04d}.flac" for i in range(size.utterances)]
                assert (chapter / f"{prefix}.trans.txt").is_file()
                assert sorted(p.name for p in chapter.iterdir()) == sorted(
                    flacs + [f"{prefix}.trans.txt"]
                )


def test_trans_txt_format(tiny):
    root = tiny["librispeech"]
    for path in root.rglob("*.trans.txt"):
        lines = path.read_text().splitlines()
        prefix = path.name[: -len(".trans.txt")]
        for line in lines:
            assert re.fullmatch(rf"{prefix}-\d{{4}} [A-Z']+( [A-Z']+)*", line), line
            assert (path.parent / f"{line.split()[0]}.flac").is_file()


def test_flac_format(tiny):
    for path in tiny["librispeech"].rglob("*.flac"):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.format, info.subtype) == (
            16000, 1, "FLAC", "PCM_16"
        )
        assert 0.5 < info.duration < 12


def test_disjoint_speakers_and_voices(tiny):
    root = tiny["librispeech"]
    speakers = {s: {p.name for p in (root / s).iterdir()} for s in LIBRISPEECH_SPLITS}
    splits = list(speakers.values())
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    rows = [
        [c.strip() for c in line.split("|")]
        for line in (root / "SPEAKERS.TXT").read_text().splitlines()
        if not line.startswith(";")
    ]
    assert {r[0] for r in rows} == set.union(*splits)
    for speaker, sex, subset, minutes, _ in rows:
        assert speaker in speakers[subset] and sex in "MF" and float(minutes) > 0
    profiles = {subset: {name for _, _, s, _, name in rows if s == subset}
                for subset in LIBRISPEECH_SPLITS}
    assert not profiles[LIBRISPEECH_SPLITS[0]] & profiles[LIBRISPEECH_SPLITS[2]]


@pytest.fixture(scope="module")
def default_plans():
    """The default preset's plans (no synthesis)."""
    config = preset_config("default")
    return (corpus_module.plan_librispeech("/unused/ls", config, 1986),
            corpus_module.plan_commonvoice("/unused/cv", config, 1986), config)


def test_test_speakers_are_unseen_speakers_of_the_training_population(default_plans):
    librispeech, _, _ = default_plans
    by_split = {split: [s["voice"] for s in librispeech.speakers if s["split"] == split]
                for split in LIBRISPEECH_SPLITS}
    engines = {split: {v.engine for v in voices} for split, voices in by_split.items()}
    assert engines["train-clean-100"] == engines["dev-clean"] == engines["test-clean"] == {
        "espeak-ng", "flite", "festival"}
    for a, b in ((0, 1), (0, 2), (1, 2)):
        a, b = by_split[LIBRISPEECH_SPLITS[a]], by_split[LIBRISPEECH_SPLITS[b]]
        assert not {v.voice_id for v in a} & {v.voice_id for v in b}
        # espeak-ng speakers: no variant (the voice's timbre) in two splits
        assert not ({v.variant for v in a if v.variant} & {v.variant for v in b if v.variant})
    bases = {(v.engine, v.name) for v in by_split["train-clean-100"]}
    assert {(v.engine, v.name) for v in by_split["test-clean"]} <= bases


def test_out_of_distribution_voices_are_held_out(default_plans):
    librispeech, commonvoice, config = default_plans
    seen = {(s["voice"].engine, s["voice"].name) for s in librispeech.speakers}
    ood = {(c["voice"].engine, c["voice"].name) for c in commonvoice.speakers}
    assert ood == set(corpus_module.OOD_VOICES)
    assert not seen & ood
    assert len(commonvoice.speakers) == sum(config.cv_voices)


def test_recording_conditions_as_documented(default_plans):
    librispeech, commonvoice, config = default_plans
    train = [j for j in librispeech.jobs if "/train-clean-100/" in j.path]
    perturbed = [j.perturbation for j in train if j.perturbation is not None]
    assert abs(len(perturbed) / len(train) - config.train_conditions_share) < 0.03
    assert all(j.perturbation is None for j in librispeech.jobs if j not in train)
    mild = SEVERITIES["mild"]
    for p in perturbed:
        assert p.speed == 1.0 and p.band in ("", "lowpass4k")
        assert not p.noise_color or mild.snr_range[0] <= p.snr_db <= mild.snr_range[1]
    moderate = SEVERITIES[config.ood_severity]
    clips = [j.perturbation for j in commonvoice.jobs]
    assert all(moderate.speed_range[0] <= p.speed <= moderate.speed_range[1] for p in clips)
    noisy = [p.snr_db for p in clips if p.noise_color]
    assert noisy and all(moderate.snr_range[0] <= snr <= moderate.snr_range[1] for snr in noisy)
    clean = sum(p.describe().startswith("gain") for p in clips) / len(clips)
    assert 0.05 < clean < 0.3


def test_commonvoice_tsvs_and_clips(tiny):
    root = tiny["commonvoice"]
    clients = {}
    for split, count in zip(COMMONVOICE_SPLITS, preset_config("tiny").cv_clips):
        with open(root / f"{split}.tsv", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            assert tuple(reader.fieldnames) == TSV_COLUMNS
            rows = list(reader)
        assert len(rows) == count
        clients[split] = {r["client_id"] for r in rows}
        for row in rows:
            assert re.fullmatch(r"[0-9a-f]{128}", row["client_id"])
            assert row["path"].endswith(".mp3") and row["locale"] == "en"
            assert row["sentence"][0].isupper() and row["sentence"] != row["sentence"].upper()
            samples, rate = sf.read(root / "clips" / row["path"])
            assert rate == 16000 and samples.ndim == 1 and len(samples) > rate // 2
    assert not clients["train"] & clients["test"]


def test_lm_text_holds_no_dev_or_test_sentence(tiny):
    lines = (tiny["librispeech-lm"] / "librispeech-lm-norm.txt").read_text().splitlines()
    assert len(lines) == len(set(lines)) == preset_config("tiny").lm_sentences
    assert all(re.fullmatch(r"[A-Z']+( [A-Z']+)*", line) for line in lines)
    ls = tiny["librispeech"]
    held_out = {text for split in LIBRISPEECH_SPLITS[1:]
                for text in read_transcripts(ls / split).values()}
    for split in COMMONVOICE_SPLITS:
        with open(tiny["commonvoice"] / f"{split}.tsv", newline="") as f:
            held_out |= {" ".join(re.sub(r"[^A-Z' ]", " ", r["sentence"].upper()).split())
                         for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    assert len(held_out) == 12 + sum(preset_config("tiny").cv_clips)
    assert not held_out & set(lines)
    # The same source as the transcripts: most training words are in it.
    train_words = {w for t in read_transcripts(ls / LIBRISPEECH_SPLITS[0]).values()
                   for w in t.split()}
    lm_words = {w for line in lines for w in line.split()}
    assert len(train_words & lm_words) > 0.5 * len(train_words)


def _voices(conditions_tsv):
    with open(conditions_tsv, newline="") as f:
        return [row for row in csv.DictReader(f, delimiter="\t")]


def _espeak_variant(voice_id):
    return voice_id.split("+")[1].split(":")[0] if voice_id.startswith("espeak-ng") else None


def test_unlabelled_pool_has_new_speakers_of_the_training_population(tiny, tmp_path):
    pool = build_corpora(tmp_path, preset="tiny", seed=SEED, workers=2,
                         only="librilight")["librilight"]
    flacs = sorted(pool.rglob("*.flac"))
    size = preset_config("tiny").unlabelled
    assert len(flacs) == size.total and not list(pool.rglob("*.trans.txt"))
    for path in flacs:  # small/<speaker>/<book>/<book>_<n>.flac, a JSON beside it
        speaker, book = path.parent.parent.name, path.parent.name
        assert path.parts[-4] == "small" and path.name.startswith(book)
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["speaker"] == speaker and meta["book_meta"]["id"] == book
        info = sf.info(path)
        assert info.samplerate == 16000 and meta["duration"] == pytest.approx(info.duration, abs=1e-3)
    ls_speakers = {p.name for split in LIBRISPEECH_SPLITS for p in (tiny["librispeech"] / split).iterdir()}
    assert not ls_speakers & {p.parent.parent.name for p in flacs}
    # espeak-ng speakers use variants of the training split, never a dev or test one
    rows = _voices(tiny["librispeech"] / "conditions.tsv")
    held_out = {_espeak_variant(r["voice"]) for r in rows
                if r["split"] != LIBRISPEECH_SPLITS[0]} - {None}
    partition = corpus_module._partition_variants(preset_config("tiny"), SEED)
    pool_variants = {_espeak_variant(r["voice"]) for r in _voices(pool / "conditions.tsv")} - {None}
    assert held_out and pool_variants
    assert pool_variants <= set(partition[LIBRISPEECH_SPLITS[0]])
    assert not pool_variants & held_out
    # its sentences are no dev or test sentence
    plan = corpus_module.plan_librilight(pool, preset_config("tiny"), SEED)
    spoken = {" ".join(re.sub(r"[^A-Z' ]", " ", job.text.upper()).split()) for job in plan.jobs}
    assert not spoken & corpus_module.evaluation_sentences(preset_config("tiny"), SEED)
    # the manifest for pretraining
    from speechbrain_ee.dataio.librilight_prepare import prepare_librilight
    assert prepare_librilight(pool, tmp_path / "unlabelled.csv") == size.total
    with open(tmp_path / "unlabelled.csv", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert {r["wav"] for r in manifest} == {str(p) for p in flacs}
    # not built unless asked for
    assert "librilight" not in tiny


def test_corpus_json(tiny):
    for root in tiny.values():
        meta = json.loads((root / "corpus.json").read_text())
        assert meta["complete"] is True
        assert meta["options"]["seed"] == SEED and meta["options"]["preset"] == "tiny"
        assert "stats" in meta


def test_deterministic_whatever_the_workers(tiny, tmp_path):
    again = build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1)
    ls_a, ls_b = tiny["librispeech"], again["librispeech"]
    assert read_transcripts(ls_a) == read_transcripts(ls_b)
    audio_a, audio_b = read_audio(ls_a, "*.flac"), read_audio(ls_b, "*.flac")
    assert audio_a.keys() == audio_b.keys()
    assert all(np.array_equal(audio_a[k], audio_b[k]) for k in audio_a)
    cv_a, cv_b = tiny["commonvoice"], again["commonvoice"]
    for split in COMMONVOICE_SPLITS:
        assert (cv_a / f"{split}.tsv").read_text() == (cv_b / f"{split}.tsv").read_text()
    mp3_a, mp3_b = read_audio(cv_a, "*.mp3"), read_audio(cv_b, "*.mp3")
    assert all(np.array_equal(mp3_a[k], mp3_b[k]) for k in mp3_a)
    lm_a, lm_b = (paths["librispeech-lm"] / "librispeech-lm-norm.txt" for paths in (tiny, again))
    assert lm_a.read_text() == lm_b.read_text()
    other = build_corpora(tmp_path / "other", preset="tiny", seed=SEED + 1, workers=1,
                          only="librispeech")
    assert read_transcripts(other["librispeech"]) != read_transcripts(ls_a)


def test_resume_after_deleting_a_file(tmp_path, caplog):
    paths = build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, only="librispeech")
    root = paths["librispeech"]
    victim = sorted(root.rglob("*.flac"))[3]
    original = sf.read(victim, dtype="int16")[0]
    victim.unlink()
    meta = json.loads((root / "corpus.json").read_text())
    meta["complete"] = False  # as if the build had been interrupted
    (root / "corpus.json").write_text(json.dumps(meta))
    build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, only="librispeech")
    assert np.array_equal(sf.read(victim, dtype="int16")[0], original)
    assert json.loads((root / "corpus.json").read_text())["complete"] is True
    # A complete corpus is recognised and left alone.
    mtime = victim.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger=corpus_module.__name__):
        build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, only="librispeech")
    assert "already built" in caplog.text
    assert victim.stat().st_mtime_ns == mtime


def test_refuses_to_overwrite(tmp_path):
    build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, only="commonvoice")
    with pytest.raises(FileExistsError, match="mini-commonvoice.*--overwrite"):
        build_corpora(tmp_path, preset="tiny", seed=SEED + 1, workers=1, only="commonvoice")
    foreign = tmp_path / "mini-librispeech"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="mini-librispeech.*--overwrite"):
        build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, only="librispeech")
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_overwrite_rebuilds(tmp_path):
    small = CorpusConfig(SplitSize(1, 1, 2), SplitSize(1, 1, 1), SplitSize(1, 1, 1), (1, 1, 1),
                         (1, 1, 1), lm_sentences=20)
    (tmp_path / "keep.txt").write_text("not ours")
    build_corpora(tmp_path, preset="tiny", seed=SEED, workers=1, config=small)
    stray = tmp_path / "mini-librispeech" / "stray.txt"
    stray.write_text("x")
    paths = build_corpora(tmp_path, preset="tiny", seed=SEED + 1, workers=1, config=small,
                          overwrite=True)
    for root in paths.values():
        assert json.loads((root / "corpus.json").read_text())["options"]["seed"] == SEED + 1
    assert not stray.exists()
    assert (tmp_path / "keep.txt").read_text() == "not ours"
    assert len(list(paths["librispeech"].rglob("*.flac"))) == 4


def test_command_line(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--preset", "tiny", "--seed", "3",
                              "--workers", "2", "--only", "commonvoice"])
    run(args)
    out = capsys.readouterr().out
    assert "mini-commonvoice" in out and "test:" in out
    assert not (tmp_path / "mini-librispeech").exists()


def test_text_dir_source(tmp_path):
    pytest.importorskip("speechbrain_ee.dataio.text")
    books = tmp_path / "books"
    books.mkdir()
    book_sentences = [
        "The lighthouse keeper climbed the winding stair every night.",
        "Nobody in the village had ever seen such a strange ship.",
        "She folded the letter twice and hid it under her pillow.",
        "A cold wind blew across the moor until the morning came.",
    ]
    (books / "book.txt").write_text("\n\n".join(book_sentences) + "\n", encoding="utf-8")
    small = CorpusConfig(SplitSize(1, 1, 2), SplitSize(1, 1, 1), SplitSize(1, 1, 1), (1, 1, 1),
                         (1, 1, 1), lm_sentences=20)
    paths = build_corpora(tmp_path / "out", preset="tiny", seed=SEED, workers=1,
                          text_dir=books, config=small)
    spoken = set(read_transcripts(paths["librispeech"]).values())
    for split in COMMONVOICE_SPLITS:
        with open(paths["commonvoice"] / f"{split}.tsv", newline="") as f:
            spoken |= {r["sentence"].upper().rstrip(".") for r in
                       csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    # 4 book sentences for 7 utterances: all used once, the rest generated.
    assert {s.upper().rstrip(".") for s in book_sentences} <= spoken
    meta = json.loads((paths["librispeech"] / "corpus.json").read_text())
    assert meta["options"]["text_dir"] == str(books.resolve())
