"""Long recordings in bounded memory: cut at pauses, transcribe in batches.

A model given a whole hour at once builds features, activations and (for
self-attention) a T x T matrix per head for the hour. Long-form
transcription never does:

1. voice activity detection reads the file block by block
   (`speechbrain_ee.dataio.audio.audio_blocks`, Silero VAD) and keeps only
   one speech probability per 32 ms;
2. the speech regions become segments of at most ``max_segment_seconds``
   (`plan_segments`): a segment ends at every pause of at least
   ``split_pause_seconds`` (0.5 s: sentences, as the models were trained
   on single utterances), regions apart by shorter pauses are packed into
   one segment up to the cap, and a region longer than the cap (speech
   without pauses) becomes overlapping fixed windows (`fixed_windows`);
   each segment keeps some of the silence around it (`pad_segments`);
3. segments are read back from the file one by one (`read_span`), batched by
   length (`length_batches`: at most ``batch_seconds`` of padded audio per
   batch) and transcribed;
4. the words of overlapping windows are merged at the middle of each
   overlap (`merge_overlap`), by the time of each word on the greedy CTC
   path.

Peak memory is then that of one batch, whatever the length of the file,
once the C library returns freed blocks to the system: glibc's default
raises its mmap threshold as large blocks are freed, and the peak then
creeps up by tens of MB over the first minutes as the heap fragments.
`fixed_mmap_threshold` (process-wide: ``speechbrain-ee transcribe`` calls
it; the environment variable ``MALLOC_MMAP_THRESHOLD_=131072`` does the
same for any process) keeps it flat.
The segment cap follows the model's cost: `default_segment_seconds` gives
linear-time encoders (SummaryMixing) longer segments than self-attention
ones, from `speechbrain_ee.lobes.contract.linear_time`; an exported
``hyperparams.yaml`` may set its own ``max_segment_seconds``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import ctypes
import dataclasses
import math
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from speechbrain_ee.dataio.audio import audio_duration
from speechbrain_ee.dataio.audio_stream import audio_blocks, read_span
from speechbrain_ee.dataio.vad import speech_regions
from speechbrain_ee.decoding.ctc import greedy_word_frames
from speechbrain_ee.lobes.contract import linear_time

ATTENTION_SEGMENT_SECONDS = 30.0
"""Segment cap of encoders whose cost is quadratic in the length (longer
windows cost the leaderboard's MHSA Conformer WER: benchmarks/longform.py)."""
LINEAR_SEGMENT_SECONDS = 60.0
"""Segment cap of linear-time encoders (SummaryMixing: no WER lost from 20
to 60 s windows, some at 120 s; benchmarks/longform.py)."""


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def fixed_mmap_threshold(threshold=128 * 1024):
    """Makes glibc serve every block of at least ``threshold`` bytes with
    its own mapping, returned to the system when freed, and stop raising
    that threshold; peak memory then stays that of one batch. Process-wide:
    for a command's entry point, not for a library call.

    Arguments
    ---------
    threshold : int
        Bytes (glibc's initial default).

    Returns
    -------
    bool
        False where the C library is not glibc.

    Example
    -------
    >>> import subprocess, sys  # in a process of its own: it is process-wide
    >>> subprocess.run([sys.executable, "-c", "from speechbrain_ee.inference.longform "
    ...                 "import fixed_mmap_threshold as f; print(f())"],
    ...                capture_output=True, text=True).stdout.split()[-1] in ("True", "False")
    True
    """
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False


def default_segment_seconds(model):
    """The segment cap for a model: longer for linear-time encoders.

    Arguments
    ---------
    model : torch.nn.Module
        A model of `speechbrain_ee.lobes.contract`.

    Returns
    -------
    float

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> default_segment_seconds(ConformerEncoder(num_layers=1, d_model=16,
    ...                                          d_ffn=32, nhead=2))
    30.0
    """
    return LINEAR_SEGMENT_SECONDS if linear_time(model) else ATTENTION_SEGMENT_SECONDS


@dataclass
class LongFormOptions:
    """How a long recording is cut (every duration in seconds).

    Example
    -------
    >>> LongFormOptions().resolved(30.0).batch_seconds
    30.0
    >>> LongFormOptions().resolved(10.0).overlap_seconds
    2.0
    >>> LongFormOptions(above_seconds=math.inf).resolved(30.0).applies(3600.0)
    False
    """

    max_segment_seconds: Optional[float] = None
    """Segment cap; None: the model's (`default_segment_seconds`)."""
    above_seconds: Optional[float] = None
    """Files longer than this are cut; None: ``max_segment_seconds`` (a
    shorter file is one segment anyway); ``math.inf``: never."""
    overlap_seconds: Optional[float] = None
    """Overlap of the fixed windows of speech without pauses; None: 4 s, at
    most a fifth of the cap."""
    split_pause_seconds: float = 0.5
    """Pauses at least this long end a segment; regions apart by shorter
    ones are packed into one segment up to the cap (``math.inf``: pack every
    region up to the cap)."""
    batch_seconds: Optional[float] = None
    """Padded audio per batch; None: ``max_segment_seconds``."""
    use_vad: bool = True
    """False: fixed windows over the whole file, no voice activity
    detection."""
    vad_threshold: float = 0.5
    """Speech probability where speech starts (`hysteresis`)."""
    min_pause_seconds: float = 0.2
    """Shorter pauses do not separate speech regions."""
    min_speech_seconds: float = 0.1
    """Shorter isolated regions are dropped."""
    pad_seconds: float = 0.2
    """Silence kept around each segment (at most half the pause)."""
    block_seconds: float = 30.0
    """Audio read at once by voice activity detection."""

    def resolved(self, model_segment_seconds):
        """A copy with every None filled in for a model's segment cap."""
        cap = self.max_segment_seconds or model_segment_seconds
        if not 0 <= 2 * self.pad_seconds < cap / 2:
            raise ValueError(f"pad_seconds={self.pad_seconds}: must be under a quarter of "
                             f"the segment length ({cap} s).")
        overlap = min(4.0, cap / 5) if self.overlap_seconds is None else self.overlap_seconds
        if not 0 <= overlap < cap / 2:
            raise ValueError(f"overlap_seconds={overlap}: must be under half "
                             f"the segment length ({cap} s).")
        return dataclasses.replace(
            self, max_segment_seconds=cap, overlap_seconds=overlap,
            above_seconds=cap if self.above_seconds is None else self.above_seconds,
            batch_seconds=self.batch_seconds or cap)

    def applies(self, seconds):
        """Whether a recording of ``seconds`` is cut (after `resolved`)."""
        return seconds is not None and seconds > self.above_seconds


@dataclass
class Segment:
    """A stretch of the recording to transcribe.

    Example
    -------
    >>> Segment(1.0, 3.5).seconds
    2.5
    """

    start: float
    end: float
    group: Optional[int] = None
    """Windows of one stretch without pauses share a group (consecutive
    windows overlap and are merged); None for a segment cut at pauses."""
    pauses: List[float] = field(default_factory=list)
    """Middles of the pauses inside the segment (between the speech regions
    packed into it): word boundaries, decoded apart (a character model
    trained on single utterances writes no word boundary at their edges)."""

    @property
    def seconds(self):
        """Duration."""
        return self.end - self.start


@dataclass
class TimedWord:
    """A word and when it was said (seconds from the start of the file).

    Example
    -------
    >>> TimedWord("HI", 1.0, 1.5).center
    1.25
    """

    text: str
    start: float
    end: float

    @property
    def center(self):
        """Middle of the word."""
        return (self.start + self.end) / 2


@dataclass
class SegmentTranscript:
    """One segment's transcript.

    Example
    -------
    >>> s = SegmentTranscript(2.0, 4.0, "HI", [TimedWord("HI", 2.5, 2.9)])
    >>> s.seconds, s.words[0].text
    (2.0, 'HI')
    """

    start: float
    end: float
    text: str
    words: List[TimedWord] = field(default_factory=list)
    """Words on the greedy CTC path, with their times (the text, unless the
    model decodes with a beam search)."""
    exit_layer: int = 0
    """Early exits: the layer whose output was decoded."""
    skipped_share: float = 0.0
    """Blank skip: share of frames that skipped the last layers."""

    @property
    def seconds(self):
        """Duration."""
        return self.end - self.start


def fixed_windows(start, end, max_seconds, overlap):
    """Equal windows of at most ``max_seconds`` over ``[start, end]``,
    each overlapping the next by ``overlap``.

    Arguments
    ---------
    start, end : float
        The stretch, in seconds.
    max_seconds : float
        Window cap.
    overlap : float
        Overlap of consecutive windows (under ``max_seconds``).

    Returns
    -------
    list of tuple
        ``(start, end)`` of each window.

    Example
    -------
    >>> fixed_windows(0.0, 61.0, max_seconds=30.0, overlap=4.0)
    [(0.0, 23.0), (19.0, 42.0), (38.0, 61.0)]
    >>> fixed_windows(5.0, 20.0, max_seconds=30.0, overlap=4.0)
    [(5.0, 20.0)]
    """
    length = end - start
    count = max(1, math.ceil((length - overlap) / (max_seconds - overlap)))
    width = (length + (count - 1) * overlap) / count
    step = width - overlap
    return [(round(start + i * step, 6), round(min(start + i * step + width, end), 6))
            for i in range(count)]


def plan_segments(regions, max_seconds, overlap=4.0, split_pause=0.5):
    """Speech regions -> segments of at most ``max_seconds``, cut at pauses.

    A pause of at least ``split_pause`` ends a segment; consecutive regions
    apart by shorter pauses are packed into one segment while it stays
    within the cap (the pauses between them stay in it); a region longer
    than the cap becomes overlapping windows (`fixed_windows`), a group of
    its own.

    Arguments
    ---------
    regions : list of tuple
        ``(start, end)`` speech regions in seconds, in order.
    max_seconds : float
        Segment cap.
    overlap : float
        Overlap of the windows of a region longer than the cap.
    split_pause : float
        Pauses at least this long end a segment.

    Returns
    -------
    list of Segment
        In time order.

    Example
    -------
    >>> for s in plan_segments([(0, 4), (5, 9), (10, 14), (15, 40), (41, 43)],
    ...                        max_seconds=10, overlap=2, split_pause=math.inf):
    ...     print(s.start, s.end, s.group, s.pauses)
    0 9 None [4.5]
    10 14 None []
    15.0 24.666667 1 []
    22.666667 32.333333 1 []
    30.333333 40.0 1 []
    41 43 None []
    """
    segments, group = [], 0
    for start, end in regions:
        last = segments[-1] if segments else None
        if end - start > max_seconds:
            group += 1
            segments += [Segment(s, e, group)
                         for s, e in fixed_windows(start, end, max_seconds, overlap)]
        elif (last is not None and last.group is None and start - last.end < split_pause
              and end - last.start <= max_seconds):
            last.pauses.append(round((last.end + start) / 2, 6))
            last.end = end
        else:
            segments.append(Segment(start, end))
    return segments


def pad_segments(segments, pad, total):
    """Widens each segment by ``pad`` into the pauses around it (at most
    half of each pause, within ``[0, total]``); windows of a group keep
    their bounds where they meet each other.

    Example
    -------
    >>> segs = [Segment(1.0, 2.0), Segment(2.2, 5.0, 1), Segment(4.0, 7.0, 1)]
    >>> [(s.start, s.end) for s in pad_segments(segs, pad=0.5, total=7.2)]
    [(0.5, 2.1), (2.1, 5.0), (4.0, 7.2)]
    """
    padded = []
    for i, segment in enumerate(segments):
        before = segments[i - 1] if i else None
        after = segments[i + 1] if i + 1 < len(segments) else None
        start, end = segment.start, segment.end
        if before is None or before.group is None or before.group != segment.group:
            start = max(start - pad, (before.end + start) / 2 if before else 0.0, 0.0)
        if after is None or after.group is None or after.group != segment.group:
            end = min(end + pad, (end + after.start) / 2 if after else total, total)
        padded.append(dataclasses.replace(segment, start=round(start, 6), end=round(end, 6)))
    return padded


def length_batches(durations, batch_seconds):
    """Batches of similar lengths: indices sorted by length (longest first),
    each batch at most ``batch_seconds`` once padded (one item at least).

    Example
    -------
    >>> length_batches([10, 3, 9, 30, 4, 5], batch_seconds=30)
    [[3], [0, 2, 5], [4, 1]]
    """
    batches = []
    for i in sorted(range(len(durations)), key=lambda i: -durations[i]):
        if batches and (len(batches[-1]) + 1) * durations[batches[-1][0]] <= batch_seconds:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def merge_overlap(words_a, words_b, cut, same_word_seconds=0.1):
    """The words two overlapping windows keep.

    The first window keeps its words whose middle is before ``cut`` (the
    middle of the overlap); the second resumes after the last of them: it
    keeps its words whose middle is after that word's end (so a word the
    two windows time a frame apart near the cut is kept once, and none is
    lost), except a first word with the same text starting within
    ``same_word_seconds`` of that end (the same word, timed later). With
    nothing kept before the cut, the second window keeps its words from the
    cut on.

    Arguments
    ---------
    words_a, words_b : list of TimedWord
        The two windows' words (times from the file's start).
    cut : float
        Where the first window hands over to the second.
    same_word_seconds : float
        See above.

    Returns
    -------
    tuple of list
        The words each window keeps.

    Example
    -------
    >>> a = [TimedWord("THE", 8.0, 8.3), TimedWord("CAT", 9.0, 9.6),
    ...      TimedWord("SAT", 10.1, 10.5)]
    >>> b = [TimedWord("CAT", 9.1, 9.5), TimedWord("SAT", 9.9, 10.3),
    ...      TimedWord("DOWN", 11.0, 11.4)]
    >>> kept_a, kept_b = merge_overlap(a, b, cut=10.0)
    >>> [w.text for w in kept_a], [w.text for w in kept_b]
    (['THE', 'CAT'], ['SAT', 'DOWN'])
    """
    kept_a = [w for w in words_a if w.center < cut]
    if not kept_a:
        return kept_a, [w for w in words_b if w.center >= cut]
    last = kept_a[-1]
    kept_b = [w for w in words_b if w.center > last.end]
    if (kept_b and kept_b[0].text == last.text
            and kept_b[0].start < last.end + same_word_seconds):
        kept_b = kept_b[1:]
    return kept_a, kept_b


def merge_windows(transcripts, segments):
    """Trims consecutive windows of a group to their halves of each overlap
    (`merge_overlap`); the window's bounds become the cut points and its
    text its kept words. Other segments are returned unchanged.

    Arguments
    ---------
    transcripts : list of SegmentTranscript
        One per segment, in time order.
    segments : list of Segment
        The segments (for their groups).

    Returns
    -------
    list of SegmentTranscript

    Example
    -------
    >>> segs = [Segment(0, 10, 1), Segment(8, 18, 1)]
    >>> ts = [SegmentTranscript(0, 10, "A B", [TimedWord("A", 1, 2), TimedWord("B", 8.4, 9.4)]),
    ...       SegmentTranscript(8, 18, "B C", [TimedWord("B", 8.6, 9.6), TimedWord("C", 12, 13)])]
    >>> [(t.start, t.end, t.text) for t in merge_windows(ts, segs)]
    [(0, 9.0, 'A B'), (9.0, 18, 'C')]
    """
    merged = [dataclasses.replace(t) for t in transcripts]
    for i in range(len(merged) - 1):
        group = segments[i].group
        if group is None or segments[i + 1].group != group:
            continue
        first, second = merged[i], merged[i + 1]
        cut = round((segments[i + 1].start + segments[i].end) / 2, 6)
        first.words, second.words = merge_overlap(first.words, second.words, cut)
        first.end = second.start = cut
        for window in (first, second):
            window.text = " ".join(w.text for w in window.words)
    return merged


def find_speech(path, sample_rate, options, vad=None):
    """Speech regions of an audio file, read block by block.

    Arguments
    ---------
    path : str or Path
        Audio file.
    sample_rate : int
        The model's rate.
    options : LongFormOptions
        Voice activity settings (`LongFormOptions.use_vad` False: the whole
        file is one region).
    vad : speechbrain_ee.dataio.vad.SileroVAD, optional
        Needed when ``options.use_vad``.

    Returns
    -------
    regions : list of tuple
        ``(start, end)`` seconds.
    seconds : float
        Duration of the file.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> path = os.path.join(tempfile.mkdtemp(), "q.wav")
    >>> sf.write(path, np.zeros(32000, dtype="float32"), 16000)
    >>> find_speech(path, 16000, LongFormOptions(use_vad=False))
    ([(0.0, 2.0)], 2.0)
    """
    if not options.use_vad:
        seconds = audio_duration(path)
        return [(0.0, seconds)], seconds
    samples = [0]

    def counted(blocks):
        for block in blocks:
            samples[0] += len(block)
            yield block

    probs = vad.probabilities(
        counted(audio_blocks(path, sample_rate, options.block_seconds)), sample_rate)
    seconds = samples[0] / sample_rate
    regions = speech_regions(
        probs, vad.frame_seconds, seconds, threshold=options.vad_threshold,
        min_pause=options.min_pause_seconds, min_speech=options.min_speech_seconds)
    return regions, seconds


def pause_cuts(segment, frames, frame_seconds):
    """Frame indices that split a segment's output at its pauses.

    Example
    -------
    >>> pause_cuts(Segment(10.0, 20.0, pauses=[12.0, 15.0]), 250, 0.04)
    [0, 50, 125, 250]
    """
    inner = [min(frames, max(0, round((p - segment.start) / frame_seconds)))
             for p in segment.pauses]
    return [0] + inner + [frames]


def decode_pieces(asr, log_probs, cuts, start, frame_seconds):
    """Decodes one segment's log-probabilities piece by piece (between
    pauses): its text and words.

    Arguments
    ---------
    asr : EfficientEncoderASR
        The model (``decode``, ``tokenizer``, ``hparams.blank_index``).
    log_probs : torch.Tensor
        ``[time, vocab]``, the segment's real frames.
    cuts : list of int
        Frame indices (`pause_cuts`).
    start : float
        The segment's start in the file (seconds).
    frame_seconds : float
        Duration of an output frame.

    Returns
    -------
    text : str
    words : list of TimedWord
    """
    pieces = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
    lengths = torch.tensor([b - a for a, b in pieces], dtype=torch.float)
    batch = torch.nn.utils.rnn.pad_sequence([log_probs[a:b] for a, b in pieces],
                                            batch_first=True)
    texts = asr.decode(batch, lengths / lengths.max())
    blank = getattr(asr.hparams, "blank_index", 0)
    words = [TimedWord(word, round(start + (a + first) * frame_seconds, 3),
                       round(start + (a + last + 1) * frame_seconds, 3))
             for a, b in pieces
             for word, first, last in greedy_word_frames(
                 log_probs[a:b].cpu(), asr.tokenizer.id_to_piece, blank)]
    return " ".join(t for t in texts if t.strip()), words


def transcribe_wavs(asr, wavs, segments, **model_options):
    """Transcribes a batch of segments, with word times.

    Arguments
    ---------
    asr : EfficientEncoderASR
        The model (``encode_batch``, ``decode``, ``tokenizer``).
    wavs : list of torch.Tensor
        The segments' samples at the model's rate.
    segments : list of Segment
        Where each one is in the file.
    **model_options
        ``exit_strategy``, ``threshold``, ``skip_threshold`` (see
        `EfficientEncoderASR.encode_batch`).

    Returns
    -------
    list of SegmentTranscript
    """
    lengths = torch.tensor([len(w) for w in wavs], dtype=torch.float)
    batch = torch.nn.utils.rnn.pad_sequence(list(wavs), batch_first=True)
    with torch.no_grad():
        out = asr.encode_batch(batch, lengths / lengths.max(), **model_options)
    frames = (~out.padding).sum(dim=1).clamp(min=1).tolist()
    skipped = out.skipped_shares().tolist()
    results = []
    for i, segment in enumerate(segments):
        seconds = float(lengths[i]) / asr.sample_rate
        frame_seconds = seconds / frames[i]
        with torch.no_grad():
            text, words = decode_pieces(
                asr, out.output[i, :frames[i]], pause_cuts(segment, frames[i], frame_seconds),
                segment.start, frame_seconds)
        results.append(SegmentTranscript(
            segment.start, segment.end, text, words, int(out.exit_layer[i]), skipped[i]))
    return results


def transcribe_segments(asr, path, segments, batch_seconds, **model_options):
    """Transcribes the segments of a file, batched by length, each read
    from the file when its batch comes; overlapping windows merged.

    Arguments
    ---------
    asr : EfficientEncoderASR
        The model.
    path : str or Path
        Audio file.
    segments : list of Segment
        In time order (`plan_segments`).
    batch_seconds : float
        Padded audio per batch.
    **model_options
        See `transcribe_wavs`.

    Returns
    -------
    list of SegmentTranscript
        In time order.
    """
    results = [None] * len(segments)
    for batch in length_batches([s.seconds for s in segments], batch_seconds):
        wavs = [read_span(path, segments[i].start, segments[i].end, asr.sample_rate)
                for i in batch]
        for i, result in zip(batch, transcribe_wavs(
                asr, wavs, [segments[i] for i in batch], **model_options)):
            results[i] = result
    return merge_windows(results, segments)


def transcribe_long(asr, path, options, vad=None, **model_options):
    """Long-form transcription of one file (see the module's docstring).

    Arguments
    ---------
    asr : EfficientEncoderASR
        The model.
    path : str or Path
        Audio file.
    options : LongFormOptions
        Resolved (`LongFormOptions.resolved`).
    vad : speechbrain_ee.dataio.vad.SileroVAD, optional
        Needed when ``options.use_vad``.
    **model_options
        See `transcribe_wavs`.

    Returns
    -------
    segments : list of SegmentTranscript
        In time order.
    seconds : float
        Duration of the file.
    """
    regions, seconds = find_speech(path, asr.sample_rate, options, vad)
    pad = options.pad_seconds
    segments = pad_segments(plan_segments(
        regions, options.max_segment_seconds - 2 * pad, options.overlap_seconds,
        options.split_pause_seconds), pad, seconds)
    return transcribe_segments(asr, path, segments, options.batch_seconds,
                               **model_options), seconds
