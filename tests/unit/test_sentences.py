"""Tests of the built-in sentence generator and the book sentence source."""

import re
from pathlib import Path

import numpy as np
import pytest

from speechbrain_ee.dataio.sentences import (
    MAX_WORDS,
    MIN_WORDS,
    generate_sentence,
    generate_sentences,
    indefinite_article,
    number_words,
    plural,
    sentences_from_text_dir,
    split_sentences,
    strip_gutenberg_boilerplate,
    verb_forms,
    vocabulary,
)

SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
TRANSCRIPT_RE = re.compile(r"[A-Z']+( [A-Z']+)*")


@pytest.fixture(scope="module")
def sentences():
    """A few thousand generated sentences."""
    return generate_sentences(3000, seed=11)


def test_lengths(sentences):
    lengths = [s.num_words for s in sentences]
    assert min(lengths) >= MIN_WORDS and max(lengths) <= MAX_WORDS
    assert len(set(lengths)) > 8  # a spread of lengths, not one template


def test_transcript_charset(sentences):
    for s in sentences:
        assert TRANSCRIPT_RE.fullmatch(s.transcript), s.transcript
        assert not re.search(r"\d", s.transcript + s.text)


def test_vocabulary_size(sentences):
    used = {w for s in sentences for w in s.transcript.split()}
    assert len(used) >= 1000
    assert len(vocabulary()) >= 1200
    assert used <= vocabulary()


def test_determinism():
    assert generate_sentences(50, seed=3) == generate_sentences(50, seed=3)
    assert generate_sentences(50, seed=3) != generate_sentences(50, seed=4)
    first = generate_sentence(np.random.default_rng(5))
    assert first == generate_sentence(np.random.default_rng(5))


def test_distinct_and_excluded():
    train = generate_sentences(200, seed=0)
    seen = {s.transcript for s in train}
    assert len(seen) == 200
    test = generate_sentences(200, seed=0, exclude=seen)
    assert not seen & {s.transcript for s in test}


def test_common_voice_rendering(sentences):
    texts = [s.text for s in sentences]
    assert all(t[0].isupper() for t in texts)
    assert all(any(c.islower() for c in t) for t in texts)
    assert all(t.upper() != t for t in texts)
    ended = sum(t[-1] in ".?!" for t in texts) / len(texts)
    assert 0.8 < ended < 1.0  # punctuated, though not always
    assert sum("," in t for t in texts) > 100
    assert sum(t.endswith("?") for t in texts) > 100
    assert any(re.search(r"\b(Mr|Mrs|Dr)\. [A-Z]", t) for t in texts)


def test_renderings_agree_with_normalize_text(sentences):
    text_module = pytest.importorskip("speechbrain_ee.dataio.text")
    for s in sentences[:1000]:
        assert text_module.normalize_text(s.text) == s.transcript


def test_morphology():
    assert plural("child") == "children" and plural("bench") == "benches"
    assert verb_forms("hurry") == ("hurry", "hurried", "hurries")
    assert verb_forms("catch:caught") == ("catch", "caught", "catches")
    assert indefinite_article("old") == "an" and indefinite_article("heavy") == "a"
    assert number_words(99) == "ninety-nine" and number_words(0) == "zero"
    with pytest.raises(ValueError):
        number_words(1000)


def test_gutenberg_boilerplate_and_splitting(tmp_path):
    book = (
        "The Project Gutenberg eBook of Nothing\nLicence text here.\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK NOTHING ***\n"
        "CHAPTER I.\n\nMr. Hill walked slowly to the old mill\nby the river. "
        "It rained all day, and the roads were deep in mud!\n\n"
        "\u201cWill you come with me tomorrow?\u201d she asked.\n"
        "In 1850 there were 12 mills.\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK NOTHING ***\n"
        "More licence text that must not be read at all.\n"
    )
    assert "Licence" not in strip_gutenberg_boilerplate(book)
    assert split_sentences("Mr. Hill came. He sat.") == ["Mr. Hill came.", "He sat."]
    (tmp_path / "nothing.txt").write_text(book, encoding="utf-8")
    pytest.importorskip("speechbrain_ee.dataio.text")
    got = sentences_from_text_dir(tmp_path)
    assert [s.transcript for s in got] == [
        "MISTER HILL WALKED SLOWLY TO THE OLD MILL BY THE RIVER",
        "IT RAINED ALL DAY AND THE ROADS WERE DEEP IN MUD",
        "WILL YOU COME WITH ME TOMORROW SHE ASKED",
    ]
    assert got[2].text == "Will you come with me tomorrow? she asked."


def test_sentences_from_shared_books():
    text_dir = SHARED_DIR / "data" / "text"
    if not any(text_dir.glob("*.txt")):
        pytest.skip(f"no books in {text_dir}")
    pytest.importorskip("speechbrain_ee.dataio.text")
    got = sentences_from_text_dir(text_dir, max_sentences=500)
    assert len(got) == 500
    assert len({s.transcript for s in got}) == 500
    for s in got:
        assert MIN_WORDS <= s.num_words <= MAX_WORDS
        assert TRANSCRIPT_RE.fullmatch(s.transcript), s.transcript
        assert "GUTENBERG" not in s.transcript
        assert s.text[0].isupper()


def test_missing_text_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        sentences_from_text_dir(tmp_path)
