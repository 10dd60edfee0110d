"""Subtitles of a transcription: SRT and WebVTT.

A cue per segment of a long-form transcription, split at word boundaries
into cues of at most ``max_seconds`` and ``max_chars`` where the segment's
words (times on the greedy CTC path) spell its text; lines wrapped at
``line_chars``. A file transcribed whole is one cue.

Authors
-------
* speechbrain-ee contributors 2026
"""

import textwrap
from dataclasses import dataclass


@dataclass
class Cue:
    """One subtitle: from ``start`` to ``end`` seconds, its text."""

    start: float
    end: float
    text: str


def timestamp(seconds, decimal=","):
    """``HH:MM:SS,mmm`` (SRT; ``decimal="."``: WebVTT).

    Example
    -------
    >>> timestamp(3725.4321), timestamp(0.5, ".")
    ('01:02:05,432', '00:00:00.500')
    """
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def split_words(words, max_seconds, max_chars):
    """Groups consecutive timed words into cues of at most ``max_seconds``
    and ``max_chars`` (a longer single word is a cue of its own).

    Example
    -------
    >>> from speechbrain_ee.inference.longform import TimedWord
    >>> words = [TimedWord(w, i, i + 0.5) for i, w in enumerate("A BB C DD".split())]
    >>> [(c.start, c.end, c.text) for c in split_words(words, 2.5, 20)]
    [(0, 2.5, 'A BB C'), (3, 3.5, 'DD')]
    """
    cues = []
    for word in words:
        last = cues[-1] if cues else None
        if (last is not None and word.end - last.start <= max_seconds
                and len(last.text) + 1 + len(word.text) <= max_chars):
            last.end, last.text = word.end, f"{last.text} {word.text}"
        else:
            cues.append(Cue(word.start, word.end, word.text))
    return cues


def make_cues(segments, max_seconds=7.0, max_chars=84):
    """Cues of a transcription's segments.

    Arguments
    ---------
    segments : list
        Objects with ``start``, ``end``, ``text`` and ``words`` (a list of
        `speechbrain_ee.inference.longform.TimedWord`), in time order.
    max_seconds : float
        Longest cue, where the words allow splitting.
    max_chars : int
        Most characters per cue, where the words allow splitting.

    Returns
    -------
    list of Cue
        Segments without text give none.

    Example
    -------
    >>> from speechbrain_ee.inference.longform import SegmentTranscript
    >>> [c.text for c in make_cues([SegmentTranscript(0.0, 2.0, "HELLO"),
    ...                             SegmentTranscript(3.0, 4.0, "")])]
    ['HELLO']
    """
    cues = []
    for segment in segments:
        if not segment.text.strip():
            continue
        if segment.words and " ".join(w.text for w in segment.words) == segment.text:
            cues += split_words(segment.words, max_seconds, max_chars)
        else:  # no words, or a beam search spelled them otherwise
            cues.append(Cue(segment.start, segment.end, segment.text))
    return cues


def _lines(text, line_chars):
    return "\n".join(textwrap.wrap(text, line_chars)) or text


def to_srt(cues, line_chars=42):
    """An SRT document.

    Example
    -------
    >>> print(to_srt([Cue(0.0, 1.5, "HELLO THERE"), Cue(2.0, 3.0, "BYE")]), end="")
    1
    00:00:00,000 --> 00:00:01,500
    HELLO THERE
    <BLANKLINE>
    2
    00:00:02,000 --> 00:00:03,000
    BYE
    <BLANKLINE>
    """
    return "".join(f"{i}\n{timestamp(c.start)} --> {timestamp(c.end)}\n"
                   f"{_lines(c.text, line_chars)}\n\n" for i, c in enumerate(cues, 1))


def to_vtt(cues, line_chars=42):
    """A WebVTT document.

    Example
    -------
    >>> print(to_vtt([Cue(0.0, 1.5, "HELLO THERE")]), end="")
    WEBVTT
    <BLANKLINE>
    00:00:00.000 --> 00:00:01.500
    HELLO THERE
    <BLANKLINE>
    """
    return "WEBVTT\n\n" + "".join(
        f"{timestamp(c.start, '.')} --> {timestamp(c.end, '.')}\n"
        f"{_lines(c.text, line_chars)}\n\n" for c in cues)
