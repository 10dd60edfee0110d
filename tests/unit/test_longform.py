"""Long-form transcription without a model: voice activity regions, segments
cut at pauses within the cap, fixed windows with overlap and their merge
rule, batching by length, subtitles, and the whole pipeline on a file read
back in pieces by a stand-in model that spells the words the audio codes."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_ee.dataio.audio_stream import audio_blocks, read_span
from speechbrain_ee.dataio.vad import SileroVAD, speech_regions
from speechbrain_ee.inference.longform import (
    LongFormOptions,
    Segment,
    SegmentTranscript,
    TimedWord,
    fixed_windows,
    length_batches,
    merge_overlap,
    merge_windows,
    pad_segments,
    plan_segments,
    transcribe_long,
)
from speechbrain_ee.inference.subtitles import make_cues, to_srt, to_vtt

# -- voice activity regions ---------------------------------------------------


def probabilities(pattern, frame_seconds=0.1):
    """Per-frame probabilities from ``(seconds, probability)`` pieces."""
    return [p for seconds, p in pattern for _ in range(round(seconds / frame_seconds))]


def test_pauses_are_found_and_short_ones_ignored():
    probs = probabilities([(1.0, 0.0), (2.0, 0.9), (0.1, 0.1), (1.0, 0.9),
                           (1.0, 0.0), (3.0, 0.8), (0.5, 0.0)])
    regions = speech_regions(probs, 0.1, total_seconds=8.6, min_pause=0.3)
    assert regions == [(1.0, 4.1), (5.1, 8.1)]  # the 0.1 s dip is no pause


def test_hysteresis_keeps_speech_between_the_thresholds():
    probs = probabilities([(1.0, 0.9), (0.5, 0.4), (1.0, 0.9), (1.0, 0.0)])
    assert speech_regions(probs, 0.1, 3.5, threshold=0.5, neg_threshold=0.3,
                          min_pause=0.0) == [(0.0, 2.5)]
    assert len(speech_regions(probs, 0.1, 3.5, threshold=0.5, neg_threshold=0.45,
                              min_pause=0.0)) == 2


def test_blips_are_dropped():
    probs = probabilities([(1.0, 0.0), (0.1, 0.9), (1.0, 0.0), (1.0, 0.9),
                           (0.2, 0.0), (1.0, 0.9)])
    regions = speech_regions(probs, 0.1, 4.3, min_pause=0.1, min_speech=0.15)
    assert regions == [(2.1, 3.1), (3.3, 4.3)]


def test_padding_stays_inside_the_pauses_and_not_between_windows():
    segments = [Segment(1.0, 3.0), Segment(3.2, 10.0, 1), Segment(8.0, 15.0, 1),
                Segment(16.0, 18.0)]
    padded = pad_segments(segments, pad=0.3, total=18.1)
    assert [(s.start, s.end) for s in padded] == [
        (0.7, 3.1), (3.1, 10.0), (8.0, 15.3), (15.7, 18.1)]


def test_silero_vad_runs_from_the_wheel_on_silence():
    threads = torch.get_num_threads()
    vad = SileroVAD()  # the wheel's model file; the package (which sets threads) unimported
    probs = vad.probabilities([torch.zeros(8000)] * 3, 8000)  # resampled to 16 kHz
    assert len(probs) == math.ceil(48000 / 512) and probs.max() < 0.5
    assert torch.get_num_threads() == threads


# -- segments, windows, merge, batches ----------------------------------------


def test_segments_end_at_long_pauses_and_pack_short_ones_within_the_cap():
    regions = [(0.0, 8.0), (8.3, 18.0), (18.2, 27.0), (27.1, 29.0), (31.0, 45.0),
               (45.9, 47.0)]
    segments = plan_segments(regions, max_seconds=20.0, overlap=2.0, split_pause=0.5)
    assert [(s.start, s.end, s.pauses) for s in segments] == [
        (0.0, 18.0, [8.15]), (18.2, 29.0, [27.05]), (31.0, 45.0, []), (45.9, 47.0, [])]
    assert all(s.seconds <= 20.0 and s.group is None for s in segments)
    packed = plan_segments(regions, max_seconds=20.0, overlap=2.0, split_pause=math.inf)
    assert [(s.start, s.end) for s in packed] == [(0.0, 18.0), (18.2, 29.0), (31.0, 47.0)]


@pytest.mark.parametrize("length,cap,overlap", [(61.0, 30.0, 4.0), (30.5, 30.0, 4.0),
                                                (600.0, 120.0, 4.0), (25.0, 10.0, 2.0)])
def test_fixed_windows_cover_the_stretch_with_the_overlap(length, cap, overlap):
    windows = fixed_windows(100.0, 100.0 + length, cap, overlap)
    assert windows[0][0] == 100.0 and windows[-1][1] == pytest.approx(100.0 + length)
    assert all(e - s <= cap + 1e-6 for s, e in windows)
    for (_, end), (start, _) in zip(windows, windows[1:]):
        assert end - start == pytest.approx(overlap, abs=1e-5)


def test_speech_without_pauses_becomes_a_group_of_windows():
    segments = plan_segments([(0.0, 5.0), (5.1, 70.0), (70.2, 75.0)], max_seconds=30.0,
                             overlap=4.0)
    groups = [s.group for s in segments]
    assert groups == [None, 1, 1, 1, None]
    assert all(s.seconds <= 30.0 for s in segments)


def words(*items):
    return [TimedWord(text, start, end) for text, start, end in items]


def test_merge_keeps_each_window_its_half_of_the_overlap():
    a = words(("ONE", 10.0, 10.4), ("TWO", 11.0, 11.5), ("THR", 11.8, 12.0))  # cut off
    b = words(("WO", 10.0, 10.3), ("THREE", 11.8, 12.4), ("FOUR", 13.0, 13.5))
    kept_a, kept_b = merge_overlap(a, b, cut=11.6)
    assert [w.text for w in kept_a + kept_b] == ["ONE", "TWO", "THREE", "FOUR"]


def test_merge_keeps_a_word_heard_across_the_cut_once():
    a = words(("THE", 9.0, 9.3), ("HORSE", 9.8, 10.5))   # centre 10.15: before the cut
    b = words(("HORSE", 9.9, 10.6), ("RAN", 11.0, 11.4))  # centre 10.25: after it
    kept_a, kept_b = merge_overlap(a, b, cut=10.2)
    assert [w.text for w in kept_a + kept_b] == ["THE", "HORSE", "RAN"]
    # spelt otherwise by the second window: still inside the first one's word
    b[0].text = "HORSES"
    kept_a, kept_b = merge_overlap(a, b, cut=10.2)
    assert [w.text for w in kept_a + kept_b] == ["THE", "HORSE", "RAN"]


def test_merge_loses_no_word_the_windows_time_a_frame_apart():
    # a one-frame word at the cut: after it for the first window, before it
    # for the second; the midpoint alone would drop it twice
    a = words(("IN", 23.2, 23.9), ("C", 24.22, 24.26))
    b = words(("N", 23.6, 23.9), ("C", 24.18, 24.22), ("DAY", 25.0, 25.5))
    kept_a, kept_b = merge_overlap(a, b, cut=24.2167)
    assert [w.text for w in kept_a + kept_b] == ["IN", "C", "DAY"]
    # and the other way round: kept once
    a = words(("IN", 23.2, 23.9), ("C", 24.18, 24.22))
    b = words(("C", 24.26, 24.30), ("DAY", 25.0, 25.5))
    kept_a, kept_b = merge_overlap(a, b, cut=24.2167)
    assert [w.text for w in kept_a + kept_b] == ["IN", "C", "DAY"]


def test_merge_with_nothing_before_the_cut_starts_the_second_window_there():
    kept_a, kept_b = merge_overlap(words(("X", 30.0, 30.5)), words(
        ("Y", 27.0, 27.4), ("Z", 29.0, 29.5)), cut=28.0)
    assert (kept_a, [w.text for w in kept_b]) == ([], ["Z"])


def test_windows_of_a_group_are_trimmed_at_the_cut_points():
    segments = [Segment(0.0, 4.0), Segment(5.0, 15.0, 1), Segment(13.0, 23.0, 1),
                Segment(21.0, 31.0, 1)]
    transcripts = [
        SegmentTranscript(0.0, 4.0, "HI", words(("HI", 1.0, 1.5))),
        SegmentTranscript(5.0, 15.0, "A B", words(("A", 6.0, 7.0), ("B", 14.0, 14.6))),
        SegmentTranscript(13.0, 23.0, "B C D", words(("B", 14.0, 14.6), ("C", 18.0, 19.0),
                                                     ("D", 22.4, 22.9))),
        SegmentTranscript(21.0, 31.0, "D E", words(("D", 22.5, 23.0), ("E", 30.0, 30.5))),
    ]
    merged = merge_windows(transcripts, segments)
    assert [(t.start, t.end, t.text) for t in merged] == [
        (0.0, 4.0, "HI"), (5.0, 14.0, "A"), (14.0, 22.0, "B C"), (22.0, 31.0, "D E")]
    assert transcripts[1].text == "A B"  # the inputs are left as they were


def test_batches_by_length_stay_within_the_padded_budget():
    rng = np.random.default_rng(0)
    durations = list(rng.uniform(1.0, 30.0, 50))
    batches = length_batches(durations, batch_seconds=60.0)
    assert sorted(i for b in batches for i in b) == list(range(50))
    for batch in batches:
        lengths = [durations[i] for i in batch]
        assert lengths == sorted(lengths, reverse=True)
        assert len(batch) == 1 or len(batch) * lengths[0] <= 60.0
    assert max(len(b) for b in batches) > 1


# -- subtitles ---------------------------------------------------------------


def test_srt_and_vtt_split_long_segments_at_words():
    segment = SegmentTranscript(
        0.0, 20.0, "ALPHA BETA GAMMA DELTA",
        words(("ALPHA", 0.5, 1.0), ("BETA", 2.0, 2.5), ("GAMMA", 8.0, 8.6),
              ("DELTA", 3700.0, 3700.5)))
    cues = make_cues([segment, SegmentTranscript(20.0, 25.0, "")], max_seconds=7.0)
    assert [c.text for c in cues] == ["ALPHA BETA", "GAMMA", "DELTA"]
    srt = to_srt(cues)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,500\nALPHA BETA\n\n2\n")
    assert "3\n01:01:40,000 --> 01:01:40,500\nDELTA\n" in srt
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.500\nALPHA BETA\n\n")


def test_subtitles_wrap_lines_and_keep_a_beam_text_whole():
    text = "A VERY LONG LINE OF WORDS THAT DOES NOT FIT ON ONE LINE OF A SCREEN"
    cue_text = to_srt(make_cues([SegmentTranscript(1.0, 4.0, text)])).split("\n", 2)[2]
    assert all(len(line) <= 42 for line in cue_text.strip().splitlines())
    assert len(cue_text.strip().splitlines()) == 2
    # words that do not spell the text (a beam search's): one cue, the segment's times
    segment = SegmentTranscript(1.0, 4.0, "HELLO", words(("HULLO", 1.2, 1.8)))
    assert [(c.start, c.end, c.text) for c in make_cues([segment])] == [(1.0, 4.0, "HELLO")]


# -- reading in pieces -------------------------------------------------------


def test_blocks_and_spans_read_what_the_whole_file_holds(tmp_path):
    path = tmp_path / "x.flac"
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (44100 * 3, 2)).astype("float32")
    sf.write(path, data, 44100)
    blocks = list(audio_blocks(path, 16000, block_seconds=1.0))
    assert [len(b) for b in blocks] == [16000, 16000, 16000]
    span = read_span(path, 1.0, 2.0, 44100)
    assert np.allclose(span.numpy(), data[44100:88200].mean(axis=1), atol=1e-4)


# -- the pipeline, with a stand-in model ---------------------------------------

HOP = 640  # samples per output frame (40 ms)
PIECES = ["<blank>", "▁", "A", "B", "C", "D", "E"]


class SpellingModel:
    """Stands in for `EfficientEncoderASR`: each 40 ms frame of the audio
    holds a constant level, token id / 10; the model's output is that
    token (the median level of the frame), so a window cut anywhere spells
    what it holds, as a perfect model would."""

    sample_rate = 16000
    hparams = SimpleNamespace(blank_index=0)
    tokenizer = SimpleNamespace(id_to_piece=PIECES.__getitem__)

    def encode_batch(self, wavs, wav_lens, **options):
        frames = wavs.shape[1] // HOP
        levels = wavs[:, :frames * HOP].reshape(len(wavs), frames, HOP).median(-1).values
        ids = torch.round(levels * 10).long().clamp(0, len(PIECES) - 1)
        lengths = torch.round(wav_lens * frames).long()
        padding = torch.arange(frames)[None] >= lengths[:, None]
        return SimpleNamespace(
            output=torch.log(torch.nn.functional.one_hot(ids, len(PIECES)).float() + 1e-6),
            padding=padding, exit_layer=torch.full((len(wavs),), 2),
            skipped_shares=lambda: torch.zeros(len(wavs)))

    def decode(self, log_probs, wav_lens):
        texts = []
        for lp, rel in zip(log_probs, wav_lens):
            ids = lp[:int(round(float(rel) * lp.shape[0]))].argmax(-1).tolist()
            kept = [i for j, i in enumerate(ids) if i and (j == 0 or i != ids[j - 1])]
            texts.append("".join(PIECES[i] for i in kept).replace("▁", " ").strip())
        return texts


def spoken(word_list):
    """Audio of words said without pauses: ``▁`` before every word but the
    first (as a character model trained on single utterances writes them),
    each token 3 frames and 2 blank frames (a window's frames may start
    anywhere in the file's)."""
    frames = []
    for k, word in enumerate(word_list):
        for token in ["▁"] * bool(k) + list(word):
            frames += [PIECES.index(token)] * 3 + [0, 0]
    return np.repeat(np.array(frames, dtype="float32") / 10, HOP)


class EnergyVAD:
    """Stands in for `SileroVAD`: speech wherever a frame is not silent."""

    frame_seconds = 0.032

    def probabilities(self, blocks, sample_rate):
        audio = torch.cat(list(blocks)).numpy()
        size = int(self.frame_seconds * sample_rate)
        frames = np.pad(audio, (0, -len(audio) % size)).reshape(-1, size)
        return (np.abs(frames).max(axis=1) > 0).astype("float32")


def recording(tmp_path, groups, pauses=(1.0,)):
    """Groups of words said without pauses, with pauses between groups
    (``pauses`` in turn)."""
    audio = np.concatenate([
        part for i, g in enumerate(groups)
        for part in (spoken(g), np.zeros(int(pauses[i % len(pauses)] * 16000), "float32"))])
    path = tmp_path / "long.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    return path


def random_words(rng, count):
    return ["".join(rng.choice(list("ABCDE"), size=rng.integers(1, 5))) for _ in range(count)]


def test_long_form_finds_every_word_in_order(tmp_path):
    rng = np.random.default_rng(1)
    groups = [random_words(rng, n) for n in (5, 8, 3, 90, 6, 4, 7, 2, 9)]  # 90: no pauses
    path = recording(tmp_path, groups, pauses=(1.0, 0.3))  # 0.3 s: packed, 1 s: split
    options = LongFormOptions(max_segment_seconds=8.0, overlap_seconds=2.0,
                              block_seconds=3.0).resolved(30.0)
    segments, seconds = transcribe_long(SpellingModel(), path, options, EnergyVAD())
    assert seconds == pytest.approx(sf.info(path).duration)
    said = [w for g in groups for w in g]
    assert " ".join(s.text for s in segments).split() == said
    assert all(s.seconds <= 8.0 + 1e-6 for s in segments)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(segments, segments[1:]))
    assert len(segments) > 10  # the long group was cut into windows
    # groups 1 and 2, 0.3 s apart, are packed into one segment, decoded apart
    assert any(f" {groups[1][-1]} {groups[2][0]} " in f" {s.text} " for s in segments)
    times = [w.start for s in segments for w in s.words]
    assert times == sorted(times)


def test_long_form_without_vad_windows_the_whole_file(tmp_path):
    rng = np.random.default_rng(2)
    groups = [random_words(rng, 40)]
    path = recording(tmp_path, groups, pauses=(0.1,))
    options = LongFormOptions(max_segment_seconds=5.0, overlap_seconds=1.5,
                              use_vad=False, batch_seconds=12.0).resolved(30.0)
    segments, _ = transcribe_long(SpellingModel(), path, options)
    assert " ".join(s.text for s in segments).split() == groups[0]


def test_options_resolve_per_model_and_refuse_a_wide_overlap():
    options = LongFormOptions().resolved(120.0)
    assert (options.max_segment_seconds, options.above_seconds, options.batch_seconds) == (
        120.0, 120.0, 120.0)
    assert options.applies(121.0) and not options.applies(60.0)
    assert not LongFormOptions(above_seconds=math.inf).resolved(30.0).applies(1e6)
    with pytest.raises(ValueError, match="overlap_seconds"):
        LongFormOptions(max_segment_seconds=6.0, overlap_seconds=3.0).resolved(30.0)


def test_segment_cap_follows_the_encoders_cost_or_the_export():
    from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    from speechbrain.nnet.linear import Linear

    from speechbrain_ee.inference.asr import EfficientEncoderASR
    from speechbrain_ee.inference.longform import (
        ATTENTION_SEGMENT_SECONDS,
        LINEAR_SEGMENT_SECONDS,
    )
    from speechbrain_ee.lobes.asr_encoder import ASREncoder
    from speechbrain_ee.lobes.contract import CTCModel
    from speechbrain_ee.lobes.summary_mixing_encoders import SummaryMixingConformerEncoder

    def model(stack):
        return CTCModel(ASREncoder(stack, input_size=20, d_model=16), Linear(input_size=16,
                                                                            n_neurons=5))

    def cap(encoder, **hparams):
        asr = SimpleNamespace(hparams=SimpleNamespace(**hparams), model=encoder)
        return EfficientEncoderASR.max_segment_seconds.fget(asr)

    mhsa = model(ConformerEncoder(num_layers=1, d_model=16, d_ffn=32, nhead=2))
    linear = model(SummaryMixingConformerEncoder(num_layers=1, d_model=16, d_ffn=32, nhead=2))
    assert cap(mhsa) == ATTENTION_SEGMENT_SECONDS < cap(linear) == LINEAR_SEGMENT_SECONDS
    assert cap(mhsa, max_segment_seconds=45.0) == 45.0
