"""Tests of the text normalisation to the LibriSpeech character set."""

import csv
import re

import pytest

from speechbrain_ee.dataio.text import (
    decimal_to_words,
    integer_to_words,
    normalize_text,
    number_to_words,
    ordinal_to_words,
    unmappable_characters,
    year_to_words,
)

LIBRISPEECH_CHARSET = re.compile(r"^([A-Z']+( [A-Z']+)*)?$")


@pytest.mark.parametrize(
    "text, expected",
    [
        # case, whitespace, punctuation
        ("Hello,   world!", "HELLO WORLD"),
        ("  tabs\tand\nnew lines  ", "TABS AND NEW LINES"),
        ("well-known — state-of-the-art", "WELL KNOWN STATE OF THE ART"),
        ('"Quoted" (text); [with] {brackets}...', "QUOTED TEXT WITH BRACKETS"),
        ("snake_case/slash:colon", "SNAKE CASE SLASH COLON"),
        # accents and special letters
        ("Café naïve Brontë señor", "CAFE NAIVE BRONTE SENOR"),
        ("Æsop's œuvre, Øre, Straße", "AESOP'S OEUVRE ORE STRASSE"),
        ("ﬁne ＦＵＬＬ width", "FINE FULL WIDTH"),
        # apostrophes
        ("Don’t", "DON'T"),
        ("‘Hello,’ said James’ dog", "HELLO SAID JAMES' DOG"),
        ("'tis the dogs' bones, 'em", "TIS THE DOGS' BONES EM"),
        ("rock 'n' roll at o'clock", "ROCK N ROLL AT O'CLOCK"),
        ("'quoted'", "QUOTED"),
        ("' '' '", ""),
        # numbers
        ("0", "ZERO"),
        ("7 13 42", "SEVEN THIRTEEN FORTY TWO"),
        ("101 dalmatians", "ONE HUNDRED ONE DALMATIANS"),
        ("10,000 men", "TEN THOUSAND MEN"),
        (
            "1,234,567",
            "ONE MILLION TWO HUNDRED THIRTY FOUR THOUSAND FIVE"
            " HUNDRED SIXTY SEVEN",
        ),
        ("3000000000", "THREE BILLION"),
        ("in 1961", "IN NINETEEN SIXTY ONE"),
        ("in 1905 and 1800", "IN NINETEEN O FIVE AND EIGHTEEN HUNDRED"),
        ("in 2008 and 2019", "IN TWO THOUSAND EIGHT AND TWENTY NINETEEN"),
        ("the 1990s", "THE NINETEEN NINETIES"),
        ("1st 2nd 3rd 4th", "FIRST SECOND THIRD FOURTH"),
        (
            "21st 12th 100th 1000000TH",
            "TWENTY FIRST TWELFTH ONE HUNDREDTH ONE MILLIONTH",
        ),
        ("3.5", "THREE POINT FIVE"),
        ("0.05", "ZERO POINT ZERO FIVE"),
        ("agent 007", "AGENT ZERO ZERO SEVEN"),
        ("50%", "FIFTY PERCENT"),
        ("3.5 % off", "THREE POINT FIVE PERCENT OFF"),
        ("Tom & Jerry", "TOM AND JERRY"),
        ("$5 and $1", "FIVE DOLLARS AND ONE DOLLAR"),
        ("$2.50", "TWO DOLLARS AND FIFTY CENTS"),
        ("£3", "THREE POUNDS"),
        ("½ a loaf", "ONE HALF A LOAF"),
        ("3:2 ratio", "THREE TWO RATIO"),
        ("mp3 5stars", "MP THREE FIVE STARS"),
        # abbreviations
        (
            "Mr. Quilter and Mrs Smith met Dr. Watson",
            "MISTER QUILTER AND MISSUS SMITH MET DOCTOR WATSON",
        ),
        ("apples, pears, etc.", "APPLES PEARS ET CETERA"),
        # nothing left
        ("", ""),
        ("   ", ""),
        ("?!... -- !!", ""),
        ("日本語", ""),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_number_helpers():
    assert number_to_words(999_999) == (
        "NINE HUNDRED NINETY NINE THOUSAND NINE HUNDRED NINETY NINE"
    )
    assert number_to_words(10**33) == "ONE DECILLION"
    with pytest.raises(ValueError):
        number_to_words(10**36)
    assert year_to_words(1066) == "ONE THOUSAND SIXTY SIX"
    assert year_to_words(2000) == "TWO THOUSAND"
    assert ordinal_to_words(90) == "NINETIETH"
    assert ordinal_to_words(13) == "THIRTEENTH"
    assert decimal_to_words("1000.25") == "ONE THOUSAND POINT TWO FIVE"
    assert integer_to_words("9" * 40) == " ".join(["NINE"] * 40)


@pytest.mark.parametrize(
    "text",
    [
        "It's 3.5% of James' £1,000 — isn’t it?",
        "'Twas the 21st of Sept., 1905 & Mr. Brontë's café",
    ],
)
def test_output_is_librispeech_charset_and_idempotent(text):
    normalized = normalize_text(text)
    assert LIBRISPEECH_CHARSET.match(normalized)
    assert normalize_text(normalized) == normalized


def test_real_librispeech_transcripts_unchanged(shared_dir):
    folder = shared_dir / "data" / "real" / "librispeech"
    trans_files = sorted(folder.rglob("*.trans.txt"))
    if not trans_files:
        pytest.skip(f"no LibriSpeech transcripts under {folder}")
    for trans_file in trans_files:
        for line in trans_file.read_text(encoding="utf-8").splitlines():
            transcript = line.split(" ", 1)[1]
            assert normalize_text(transcript) == transcript


def test_real_common_voice_sentences(shared_dir):
    tsv = shared_dir / "data" / "real" / "other" / "test.tsv"
    if not tsv.is_file():
        pytest.skip(f"{tsv} is absent")
    with open(tsv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        sentences = {row["path"]: row["sentence"] for row in reader}
    assert len(sentences) > 100
    for sentence in sentences.values():
        normalized = normalize_text(sentence)
        assert normalized, sentence
        assert LIBRISPEECH_CHARSET.match(normalized), normalized
        assert normalize_text(normalized) == normalized
    expected = {
        "fleurs_en_000.mp3": "BY TWENTY FIVE TO THIRTY YEAR",
        "fleurs_en_008.mp3": "SIMPLEST WHOLE NUMBER RATIO IS THEREFORE",
        "jfk_inaugural_1961.mp3": "AND SO MY FELLOW AMERICANS ASK NOT",
        "cmu_arctic_axb_a0006.mp3": "GOD BLESS EM I HOPE I'LL GO ON",
    }
    for path, words in expected.items():
        if path in sentences:
            assert words in normalize_text(sentences[path])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2 + 2 = 4", "TWO PLUS TWO EQUALS FOUR"),
        ("meet @ 20°", "MEET AT TWENTY DEGREES"),
        ("Zoë’s 3rd café, 1990s", "ZOE'S THIRD CAFE NINETEEN NINETIES"),
    ],
)
def test_symbols_read_aloud_are_words(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    "text, unmapped",
    [
        # mappable: case, punctuation, apostrophes, numbers, symbols, accents
        ("It's 5 o'clock, Mr. Brontë!", ""),
        ("“Quoted” — 3:2, 50% & $2.50; Æsir", ""),
        ("tabs\tand ‘curly’ quotes…", ""),
        # unmappable: other scripts, symbols with no spoken form
        ("Tokyo (東京)", "東京"),
        ("α β α", "αβ"),
        ("go → there ©", "→©"),
        ("price: $", "$"),
    ],
)
def test_unmappable_characters_are_named(text, unmapped):
    assert unmappable_characters(text) == unmapped
    if not unmapped:
        assert LIBRISPEECH_CHARSET.match(normalize_text(text))
