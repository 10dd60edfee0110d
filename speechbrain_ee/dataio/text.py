"""Text normalisation to the LibriSpeech character set.

LibriSpeech transcripts are upper case English letters, the apostrophe and
single spaces, with numbers written out in words. ``normalize_text`` brings
any English text (Common Voice sentences, book text) to that form, so that a
model trained on LibriSpeech can be scored on other data and so that text
corpora give LibriSpeech-like sentences. Text already in LibriSpeech form is
returned unchanged.

Numbers are read the way a speaker of American English would read them,
without "AND": ``123`` -> ``ONE HUNDRED TWENTY THREE``, ``1961`` ->
``NINETEEN SIXTY ONE`` (four-digit numbers from 1100 to 2099 are read as
years), ``21st`` -> ``TWENTY FIRST``, ``3.5`` -> ``THREE POINT FIVE``,
``1990s`` -> ``NINETEEN NINETIES``, ``007`` -> ``ZERO ZERO SEVEN``,
``$5`` -> ``FIVE DOLLARS``; symbols that are read aloud are written as
words (``&`` -> ``AND``, ``%`` -> ``PERCENT``, ``+`` -> ``PLUS``, ``=`` ->
``EQUALS``, ``@`` -> ``AT``, ``°`` -> ``DEGREES``). Letters outside A-Z lose
their accents (``é`` -> ``E``, ``æ`` -> ``AE``); punctuation becomes a word
boundary. What is left (letters of other scripts, other symbols) cannot be
mapped: ``normalize_text`` drops it, and ``unmappable_characters`` names it,
so that a data preparation can count and report such sentences instead of
scoring a reference that lost words (see
`speechbrain_ee.dataio.common_voice_prepare`).

Authors
-------
* speechbrain-ee contributors 2026
"""

import re
import unicodedata

_ONES = (
    "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN ELEVEN TWELVE "
    "THIRTEEN FOURTEEN FIFTEEN SIXTEEN SEVENTEEN EIGHTEEN NINETEEN"
).split()
_TENS = "_ _ TWENTY THIRTY FORTY FIFTY SIXTY SEVENTY EIGHTY NINETY".split()
_SCALES = (
    "_ THOUSAND MILLION BILLION TRILLION QUADRILLION QUINTILLION SEXTILLION "
    "SEPTILLION OCTILLION NONILLION DECILLION"
).split()
_IRREGULAR_ORDINALS = {
    "ONE": "FIRST",
    "TWO": "SECOND",
    "THREE": "THIRD",
    "FIVE": "FIFTH",
    "EIGHT": "EIGHTH",
    "NINE": "NINTH",
    "TWELVE": "TWELFTH",
}
_CURRENCIES = {
    # symbol: (unit, units, subunit, subunits)
    "$": ("DOLLAR", "DOLLARS", "CENT", "CENTS"),
    "£": ("POUND", "POUNDS", "PENNY", "PENCE"),
    "€": ("EURO", "EUROS", "CENT", "CENTS"),
}
# Replaced before NFKC, which would turn "½" into "1⁄2".
_SYMBOLS = {
    "½": " ONE HALF ",
    "¼": " ONE QUARTER ",
    "¾": " THREE QUARTERS ",
    "&": " AND ",
    "%": " PERCENT ",
    "％": " PERCENT ",
    "+": " PLUS ",
    "=": " EQUALS ",
    "@": " AT ",
    "°": " DEGREES ",
}
_APOSTROPHES = str.maketrans({c: "'" for c in "‘’‚‛′ʼʹ`´"})
_SPECIAL_LETTERS = str.maketrans(
    {
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ł": "l",
        "Ł": "L",
        "ı": "i",
    }
)
_ABBREVIATIONS = {"Mr": "MISTER", "Mrs": "MISSUS", "Dr": "DOCTOR"}
_ABBREVIATION_RE = re.compile(r"\b(Mrs|Mr|Dr)\b\.?(?=\s+[A-Z])")
_ET_CETERA_RE = re.compile(r"&c\b\.?|\b(?i:etc)\b\.?")
_NUMBER_RE = re.compile(
    r"(?:(?P<currency>[$£€]) ?)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)"
    r"(?P<frac>\.\d+)?"
    r"(?:(?P<suffix>(?i:st|nd|rd|th|s))(?![^\W\d_]))?"
)
_NOT_KEPT_RE = re.compile(r"[^A-Z' ]+")
_YEAR_RANGE = range(1100, 2100)
_MAX_DIGITS = 3 * len(_SCALES)


def number_to_words(number):
    """Spells out an integer in upper case words, without "AND".

    Arguments
    ---------
    number : int
        The number; its absolute value must be below 10**36.

    Returns
    -------
    str
        The number in words, e.g. ``"ONE HUNDRED TWENTY THREE"``.

    Example
    -------
    >>> number_to_words(123)
    'ONE HUNDRED TWENTY THREE'
    >>> number_to_words(2_000_021)
    'TWO MILLION TWENTY ONE'
    >>> number_to_words(-7)
    'MINUS SEVEN'
    """
    if number < 0:
        return "MINUS " + number_to_words(-number)
    if number == 0:
        return _ONES[0]
    if len(str(number)) > _MAX_DIGITS:
        raise ValueError(f"{number} is too large to spell out")
    words = []
    for scale in reversed(range(len(_SCALES))):
        group = number // 1000**scale % 1000
        if group:
            words.extend(_below_thousand(group))
            if scale:
                words.append(_SCALES[scale])
    return " ".join(words)


def _below_thousand(number):
    """Words for 1 <= number < 1000, as a list."""
    words = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        words += [_ONES[hundreds], "HUNDRED"]
    if rest >= 20:
        words.append(_TENS[rest // 10])
        rest %= 10
        if rest:
            words.append(_ONES[rest])
    elif rest:
        words.append(_ONES[rest])
    return words


def year_to_words(year):
    """Reads a year the way it is spoken.

    Arguments
    ---------
    year : int
        A non-negative year. Years from 1100 to 2099 are read in pairs of
        digits, except 2000-2009; other numbers are read as cardinals.

    Returns
    -------
    str
        The year in words.

    Example
    -------
    >>> year_to_words(1961)
    'NINETEEN SIXTY ONE'
    >>> year_to_words(1905)
    'NINETEEN O FIVE'
    >>> year_to_words(1800)
    'EIGHTEEN HUNDRED'
    >>> year_to_words(2005)
    'TWO THOUSAND FIVE'
    """
    high, low = divmod(year, 100)
    if year not in _YEAR_RANGE or (high % 10 == 0 and low < 10):
        return number_to_words(year)
    if low == 0:
        return number_to_words(high) + " HUNDRED"
    if low < 10:
        return number_to_words(high) + " O " + _ONES[low]
    return number_to_words(high) + " " + number_to_words(low)


def ordinal_to_words(number):
    """Spells out an ordinal number.

    Arguments
    ---------
    number : int
        The number (non-negative, below 10**36).

    Returns
    -------
    str
        The ordinal in words, e.g. ``"TWENTY FIRST"``.

    Example
    -------
    >>> ordinal_to_words(21)
    'TWENTY FIRST'
    >>> ordinal_to_words(12)
    'TWELFTH'
    >>> ordinal_to_words(40)
    'FORTIETH'
    >>> ordinal_to_words(100)
    'ONE HUNDREDTH'
    """
    words = number_to_words(number).split()
    last = words[-1]
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("Y"):
        last = last[:-1] + "IETH"
    else:
        last += "TH"
    return " ".join(words[:-1] + [last])


def digits_to_words(digits):
    """Reads a string of digits one by one.

    Arguments
    ---------
    digits : str
        Decimal digits only.

    Returns
    -------
    str
        One word per digit.

    Example
    -------
    >>> digits_to_words("007")
    'ZERO ZERO SEVEN'
    """
    return " ".join(_ONES[int(digit)] for digit in digits)


def decimal_to_words(text):
    """Reads a decimal number: integer part, ``POINT``, digits one by one.

    Arguments
    ---------
    text : str
        A number such as ``"3.14"`` (no thousands separators).

    Returns
    -------
    str
        The number in words.

    Example
    -------
    >>> decimal_to_words("3.5")
    'THREE POINT FIVE'
    >>> decimal_to_words("0.25")
    'ZERO POINT TWO FIVE'
    """
    integer, _, fraction = text.partition(".")
    words = integer_to_words(integer, as_year=False)
    if fraction:
        words += " POINT " + digits_to_words(fraction)
    return words


def integer_to_words(digits, as_year=True):
    """Reads a string of digits as a number, a year or digit by digit.

    Numbers with a leading zero (``007``) or too long to name are read digit
    by digit.

    Arguments
    ---------
    digits : str
        Decimal digits only.
    as_year : bool
        Whether four-digit numbers from 1100 to 2099 are read as years.

    Returns
    -------
    str
        The number in words.

    Example
    -------
    >>> integer_to_words("1066")
    'ONE THOUSAND SIXTY SIX'
    >>> integer_to_words("1492")
    'FOURTEEN NINETY TWO'
    >>> integer_to_words("1492", as_year=False)
    'ONE THOUSAND FOUR HUNDRED NINETY TWO'
    """
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > _MAX_DIGITS:
        return digits_to_words(digits)
    if as_year and len(digits) == 4:
        return year_to_words(int(digits))
    return number_to_words(int(digits))


def _plural(words):
    """Plural of a spelled-out number: ``NINETY`` -> ``NINETIES``."""
    if words.endswith("Y"):
        return words[:-1] + "IES"
    if words.endswith("X"):
        return words + "ES"
    return words + "S"


def _currency_to_words(integer, fraction, symbol):
    """Reads an amount of money, e.g. ``$3.50``."""
    unit, units, subunit, subunits = _CURRENCIES[symbol]
    if fraction and len(fraction) != 3:  # not a ".NN" amount: 3.125 dollars
        return f"{decimal_to_words(integer + fraction)} {units}"
    amount, cents = int(integer), int(fraction[1:]) if fraction else 0
    words = []
    if amount or not cents:
        words.append(
            f"{number_to_words(amount)} {unit if amount == 1 else units}"
        )
    if cents:
        words.append(
            f"{number_to_words(cents)} {subunit if cents == 1 else subunits}"
        )
    return " AND ".join(words)


def _number_match_to_words(match):
    """``re.sub`` callback of ``_NUMBER_RE``: the matched number in words."""
    integer = match["int"].replace(",", "")
    fraction, suffix = match["frac"], (match["suffix"] or "").lower()
    if len(integer) > _MAX_DIGITS:
        words = digits_to_words(integer + (fraction or "").replace(".", ""))
    elif match["currency"]:
        words = _currency_to_words(integer, fraction, match["currency"])
    elif fraction:
        words = decimal_to_words(integer + fraction)
    elif suffix in ("st", "nd", "rd", "th"):
        words = ordinal_to_words(int(integer))
    else:
        as_year = "," not in match["int"]
        words = integer_to_words(integer, as_year=as_year)
        if suffix == "s":
            words = _plural(words)
    return f" {words} "


def expand_numbers(text):
    """Writes out the numbers, ordinals and amounts of money in a text.

    Arguments
    ---------
    text : str
        Any text.

    Returns
    -------
    str
        The text with every run of digits replaced by upper case words.

    Example
    -------
    >>> expand_numbers("the 21st of 1,000,000")
    'the  TWENTY FIRST  of  ONE MILLION '
    >>> expand_numbers("3.5% of $2.50")
    ' THREE POINT FIVE % of  TWO DOLLARS AND FIFTY CENTS '
    """
    return _NUMBER_RE.sub(_number_match_to_words, text)


def strip_accents(text):
    """Removes accents and turns special Latin letters into plain ones.

    Arguments
    ---------
    text : str
        Any text.

    Returns
    -------
    str
        The text with ``é`` -> ``e``, ``æ`` -> ``ae``, ``ø`` -> ``o`` etc.

    Example
    -------
    >>> strip_accents("Café Señor Æsir Øre")
    'Cafe Senor AEsir Ore'
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize(
        "NFKD", text.translate(_SPECIAL_LETTERS)
    )
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clean_apostrophes(word):
    """Keeps the apostrophes inside a word and after a final S (JAMES')."""
    if "'" not in word:
        return word
    core = re.sub("'{2,}", "'", word.strip("'"))
    if core and word.endswith("'") and core.endswith("S"):
        core += "'"
    return core


def normalize_text(text):
    """Normalises text to the LibriSpeech character set.

    Steps: NFKC, curly quotes to ``'``, titles (Mr., Mrs., Dr.), etc. and
    numbers written out, symbols read aloud written as words (``&`` -> AND,
    ``%`` -> PERCENT, ``+`` -> PLUS...), accents stripped, upper case;
    hyphens and other punctuation become spaces; apostrophes are kept only
    inside words (DON'T) and after a final S (JAMES'); everything else is
    dropped (`unmappable_characters` names it) and whitespace is collapsed.

    Arguments
    ---------
    text : str
        Any English text.

    Returns
    -------
    str
        Upper case words of A-Z and ``'`` separated by single spaces; ``""``
        when nothing remains.

    Example
    -------
    >>> normalize_text("Don’t pay Mr. Brontë $5 for the 2nd café-au-lait!")
    "DON'T PAY MISTER BRONTE FIVE DOLLARS FOR THE SECOND CAFE AU LAIT"
    >>> normalize_text("In 1961, 3.5% of James' friends & 'em")
    "IN NINETEEN SIXTY ONE THREE POINT FIVE PERCENT OF JAMES' FRIENDS AND EM"
    >>> normalize_text(" -- ?! ")
    ''
    """
    words = (
        _clean_apostrophes(w)
        for w in _NOT_KEPT_RE.sub(" ", _spelled_out(text)).split()
    )
    return " ".join(w for w in words if w)


def _spelled_out(text, upper=True):
    """``text`` with numbers, symbols, titles and apostrophes written the
    LibriSpeech way, accents stripped, upper case (unless not ``upper``);
    punctuation and unmappable characters still in (`normalize_text` drops
    them)."""
    text = _ET_CETERA_RE.sub(" ET CETERA ", text)
    for symbol, words in _SYMBOLS.items():
        text = text.replace(symbol, words)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m[1]], text)
    text = strip_accents(expand_numbers(text))
    return text.upper() if upper else text


def unmappable_characters(text):
    """The characters of ``text`` that `normalize_text` cannot map to the
    LibriSpeech character set and drops: letters and digits of other
    scripts, and symbols that have no spoken form here (punctuation, spaces
    and control characters map to a word boundary and are not listed).

    Arguments
    ---------
    text : str
        Any text.

    Returns
    -------
    str
        Those characters, each once, in order of appearance; ``""`` when
        the whole text maps.

    Example
    -------
    >>> unmappable_characters("Café, 3.5% & 2+2=4 @ 20°!")
    ''
    >>> unmappable_characters("Tokyo (東京) → Kyōto ©")
    '東京→©'
    """
    kept = []
    for char in _spelled_out(text, upper=False):
        if char in kept or not char.upper().strip("ABCDEFGHIJKLMNOPQRSTUVWXYZ' "):
            continue
        if unicodedata.category(char)[0] not in "PZC":
            kept.append(char)
    return "".join(kept)
