"""Builds the two built-in offline corpora.

* ``<out>/mini-librispeech``: synthetic read speech in the exact
  LibriSpeech layout (``<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac``,
  ``<speaker>-<chapter>.trans.txt``, ``SPEAKERS.TXT``), splits
  ``train-clean-100``, ``dev-clean`` and ``test-clean``. Every split draws
  its speakers from one population (``IN_DOMAIN_VOICES``: espeak-ng accents
  and variants, flite and festival voices, each with its own pitch, rate
  and vocal-tract warp), and no speaker is in two splits, so the test sets
  hold unseen speakers of the training population, as LibriSpeech's do. A
  share of the training utterances (``train_conditions_share``) gets mild
  recording conditions (noise, reverberation, band limits); dev and test
  are clean. LibriSpeech recipes run on it unchanged.
* ``<out>/mini-commonvoice``: the out-of-distribution set, in the Common
  Voice layout (``clips/*.mp3``, ``train.tsv``, ``dev.tsv``, ``test.tsv``):
  voices held out of mini-librispeech (``OOD_VOICES``: an espeak-ng accent,
  two flite voices and a festival voice that no training speaker uses) in
  recording conditions of a documented severity (``ood_severity``, see
  `speechbrain_ee.dataio.synthesis.SEVERITIES`), MP3-coded.
* ``<out>/mini-librilight`` (built on request: ``only="librilight"``): an
  unlabelled pool for self-supervised pretraining, in Libri-Light's layout
  (``small/<speaker>/<book>/<book>_<n>.flac`` with a ``.json`` beside each
  file, no transcripts): new speakers of mini-librispeech's training
  population (the training split's espeak-ng variants, never a dev or test
  one), reading sentences that are no dev or test sentence, with the
  training split's share of mild recording conditions.
* ``<out>/mini-librispeech-lm``: the language-model text, as LibriSpeech's
  (openslr.org/11) ``librispeech-lm-norm.txt``: sentences of the same
  source as the transcripts (the generator, or the books of ``text_dir``),
  one per line, normalised as the transcripts are, none of them a dev or
  test sentence of either corpus.

Builds are deterministic given the seed (whatever the number of workers),
resumable (finished utterances are kept) and never overwrite another folder
silently. Command line::

    python -m speechbrain_ee.dataio.corpus --out corpora [--preset tiny]

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import errno
import json
import logging
import multiprocessing
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from speechbrain_ee.dataio.audio import audio_duration
from speechbrain_ee.dataio.sentences import (
    generate_sentences,
    sentences_from_text_dir,
)
from speechbrain_ee.dataio.synthesis import (
    ESPEAK_ACCENTS,
    ESPEAK_FEMALE_VARIANTS,
    ESPEAK_MALE_VARIANTS,
    FESTIVAL_VOICES,
    FLITE_VOICES,
    SAMPLE_RATE,
    Perturbation,
    add_noise,
    add_silence,
    base_voices,
    check_engine,
    espeak_voices,
    normalize_peak,
    random_perturbation,
    synthesize_many,
)
from speechbrain_ee.errors import run_command

logger = logging.getLogger(__name__)

VERSION = 2
LIBRISPEECH = "librispeech"
COMMONVOICE = "commonvoice"
LIBRISPEECH_LM = "librispeech-lm"
LIBRILIGHT = "librilight"
CORPUS_DIRS = {LIBRISPEECH: "mini-librispeech", COMMONVOICE: "mini-commonvoice",
               LIBRISPEECH_LM: "mini-librispeech-lm", LIBRILIGHT: "mini-librilight"}
# What `build_corpora` builds unless asked: the unlabelled pool is for the
# self-supervised recipes only and costs as much as mini-librispeech.
DEFAULT_CORPORA = (LIBRISPEECH, COMMONVOICE, LIBRISPEECH_LM)
LM_TEXT_FILE = "librispeech-lm-norm.txt"
LIBRILIGHT_SPLIT = "small"
LIBRISPEECH_SPLITS = ("train-clean-100", "dev-clean", "test-clean")
COMMONVOICE_SPLITS = ("train", "dev", "test")
TSV_COLUMNS = (
    "client_id",
    "path",
    "sentence",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "locale",
    "segment",
)
AGES = ("teens", "twenties", "thirties", "fourties", "fifties", "sixties", "")
DEFAULT_SEED = 1986
META_FILE = "corpus.json"
# Independent random streams: np.random.default_rng([seed, stream, ...]).
_VOICES, _TEXT, _IDS, _AUDIO = 1, 2, 3, 4
_CV_OFFSET = 10
_LM_OFFSET = 20
_LL_OFFSET = 30
# The speaker population of mini-librispeech, per engine (espeak-ng: the
# accents; the variants are split between train, dev and test) ...
_HELD_OUT_ACCENT = "en-029"
IN_DOMAIN_VOICES = {
    "espeak-ng": tuple(a for a in ESPEAK_ACCENTS if a != _HELD_OUT_ACCENT),
    "flite": ("kal16", "rms", "slt"),
    "festival": ("kal_diphone", "cmu_us_slt_arctic_hts"),
}
# ... and the voices that only mini-commonvoice uses, in turn: an accent,
# two flite voices (one of them 8 kHz) and a festival voice never heard in
# training.
OOD_VOICES = (
    ("espeak-ng", _HELD_OUT_ACCENT),
    ("flite", "awb"),
    ("festival", "ked_diphone"),
    ("flite", "kal"),
)


@dataclass(frozen=True)
class SplitSize:
    """Size of one LibriSpeech-style split.

    Arguments
    ---------
    speakers : int
        Number of speakers (voices).
    chapters : int
        Chapters per speaker.
    utterances : int
        Utterances per chapter.

    Example
    -------
    >>> SplitSize(4, 2, 6).total
    48
    """

    speakers: int
    chapters: int = 1
    utterances: int = 10

    @property
    def total(self):
        """Number of utterances of the split."""
        return self.speakers * self.chapters * self.utterances


@dataclass(frozen=True)
class CorpusConfig:
    """Sizes of the two corpora (see ``preset_config`` for the presets).

    Arguments
    ---------
    train : SplitSize
        ``train-clean-100``.
    dev : SplitSize
        ``dev-clean``.
    test : SplitSize
        ``test-clean``.
    cv_clips : tuple of int
        Clips of the Common Voice train, dev and test TSVs.
    cv_voices : tuple of int
        Speaker profiles of each Common Voice split (disjoint; the
        ``OOD_VOICES`` in turn).
    engines : tuple of (str, float)
        The engines of the mini-librispeech population and the share of
        speakers of each split they speak for.
    train_conditions_share : float
        Share of the training utterances with mild recording conditions.
    ood_severity : str
        Recording conditions of mini-commonvoice (``"mild"``,
        ``"moderate"``, ``"severe"``).
    lm_sentences : int
        Sentences of the language-model text (mini-librispeech-lm).
    unlabelled : SplitSize
        The unlabelled pool (mini-librilight): speakers, books per speaker,
        files per book (one sentence each).
    sample_rate : int
        Sample rate of both corpora.

    Example
    -------
    >>> CorpusConfig(cv_clips=(4, 3, 4)).cv_clips
    (4, 3, 4)
    """

    train: SplitSize = SplitSize(288, 2, 12)
    dev: SplitSize = SplitSize(16, 1, 16)
    test: SplitSize = SplitSize(16, 1, 16)
    cv_clips: tuple = (100, 100, 256)
    cv_voices: tuple = (8, 8, 16)
    engines: tuple = (("espeak-ng", 0.75), ("flite", 0.125), ("festival", 0.125))
    train_conditions_share: float = 0.3
    ood_severity: str = "moderate"
    lm_sentences: int = 200_000
    unlabelled: SplitSize = SplitSize(288, 2, 12)
    sample_rate: int = SAMPLE_RATE

    @property
    def splits(self):
        """The LibriSpeech split sizes, in ``LIBRISPEECH_SPLITS`` order."""
        return (self.train, self.dev, self.test)


PRESETS = ("tiny", "default", "large")


def preset_config(preset):
    """The configuration of a named preset.

    Arguments
    ---------
    preset : str
        ``"tiny"`` (a few utterances, for the tests), ``"default"`` (the
        demo: about 6 h of training speech from 288 speakers, 13 min dev and
        test, 456 Common Voice clips) or ``"large"`` (the longer run: about
        12 h from 384 speakers).

    Returns
    -------
    CorpusConfig
        The sizes.

    Example
    -------
    >>> preset_config("tiny").train.total
    24
    >>> preset_config("large").train.total
    13824
    """
    if preset == "default":
        return CorpusConfig()
    if preset == "large":
        return CorpusConfig(train=SplitSize(384, 3, 12))
    if preset == "tiny":
        return CorpusConfig(
            train=SplitSize(4, 1, 6),
            dev=SplitSize(2, 1, 3),
            test=SplitSize(2, 1, 3),
            cv_clips=(4, 3, 5),
            cv_voices=(2, 1, 2),
            lm_sentences=200,
            unlabelled=SplitSize(4, 1, 4),
        )
    raise ValueError(f"Unknown preset {preset!r}: use one of {', '.join(PRESETS)}.")


def engine_counts(num_speakers, engines):
    """Splits a number of speakers between engines by their shares.

    Largest remainders decide the rounding; every engine gets at least one
    speaker when there are enough speakers.

    Arguments
    ---------
    num_speakers : int
        Speakers of the split.
    engines : tuple of (str, float)
        Engine and share.

    Returns
    -------
    dict
        Engine -> number of speakers (summing to ``num_speakers``).

    Example
    -------
    >>> engine_counts(16, (("espeak-ng", 0.75), ("flite", 0.125), ("festival", 0.125)))
    {'espeak-ng': 12, 'flite': 2, 'festival': 2}
    >>> engine_counts(4, (("espeak-ng", 0.75), ("flite", 0.125), ("festival", 0.125)))
    {'espeak-ng': 2, 'flite': 1, 'festival': 1}
    """
    total = sum(share for _, share in engines)
    exact = [num_speakers * share / total for _, share in engines]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: num_speakers - sum(counts)]:
        counts[i] += 1
    if num_speakers >= len(engines):
        for i, count in enumerate(counts):
            if count == 0:
                counts[counts.index(max(counts))] -= 1
                counts[i] = 1
    return {engine: count for (engine, _), count in zip(engines, counts)}


def _population_voices(counts, seed, split_index, variants):
    """The speakers of one mini-librispeech split, engines interleaved."""
    voices = []
    for engine_index, (engine, count) in enumerate(counts.items()):
        stream = [seed, _VOICES, split_index + 1, engine_index]
        if engine == "espeak-ng":
            voices += espeak_voices(count, seed=stream, accents=IN_DOMAIN_VOICES[engine],
                                    variants=variants)
        else:
            genders = FLITE_VOICES if engine == "flite" else FESTIVAL_VOICES
            names = {name: genders[name] for name in IN_DOMAIN_VOICES[engine]}
            voices += base_voices(engine, names, count, seed=stream)
    order = np.random.default_rng([seed, _VOICES, split_index + 1]).permutation(len(voices))
    return [voices[i] for i in order]


def ood_voices(num_voices, seed):
    """The speakers of mini-commonvoice: ``OOD_VOICES`` in turn, each
    profile with its own pitch, rate and warp.

    Arguments
    ---------
    num_voices : int
        How many profiles.
    seed : int or sequence of int
        Seed of the random generator.

    Returns
    -------
    list of Voice

    Example
    -------
    >>> [v.name for v in ood_voices(5, seed=0)]
    ['en-029', 'awb', 'ked_diphone', 'kal', 'en-029']
    """
    voices = []
    for index, (engine, name) in enumerate(OOD_VOICES):
        count = len(range(index, num_voices, len(OOD_VOICES)))
        stream = [*np.atleast_1d(seed), index]
        if engine == "espeak-ng":
            voices.append(espeak_voices(count, seed=stream, accents=(name,)))
        else:
            genders = FLITE_VOICES if engine == "flite" else FESTIVAL_VOICES
            voices.append(base_voices(engine, {name: genders[name]}, count, seed=stream))
    return [voices[i % len(OOD_VOICES)][i // len(OOD_VOICES)] for i in range(num_voices)]


# ---------------------------------------------------------------------------
# Plans: everything about each utterance, decided before any synthesis.
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One utterance to synthesise.

    Arguments
    ---------
    path : str
        Output audio file.
    text : str
        What the voice reads.
    voice : Voice
        Speaker profile.
    seed : tuple of int
        Seed of the utterance's random generator (silences, level, noise).
    kind : str
        ``"librispeech"`` (clean, FLAC) or ``"commonvoice"`` (perturbed, MP3).
    perturbation : Perturbation or None
        Recording conditions of the utterance (every Common Voice clip, a
        share of the training utterances).
    sample_rate : int
        Output rate.

    Example
    -------
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> Job("a.flac", "Hello.", Voice(), (1, 2), LIBRISPEECH).kind
    'librispeech'
    """

    path: str
    text: str
    voice: object
    seed: tuple
    kind: str
    perturbation: Perturbation = None
    sample_rate: int = SAMPLE_RATE


@dataclass
class Plan:
    """The files and metadata of one corpus, before synthesis.

    Arguments
    ---------
    root : Path
        Corpus folder.
    jobs : list of Job
        Utterances to synthesise.
    rows : dict
        Metadata rows per split (transcripts or TSV rows).
    speakers : list of dict
        LibriSpeech speakers (id, split, voice) or Common Voice clients.

    Example
    -------
    >>> Plan(Path("corpus")).jobs
    []
    """

    root: Path
    jobs: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    speakers: list = field(default_factory=list)


def _partition_variants(config, seed):
    """Splits the espeak-ng variants into disjoint train/dev/test pools."""
    rng = np.random.default_rng([seed, _VOICES, 0])
    female = list(rng.permutation(ESPEAK_FEMALE_VARIANTS))
    male = list(rng.permutation(ESPEAK_MALE_VARIANTS))
    pools = {}
    for split, size in zip(LIBRISPEECH_SPLITS[1:], config.splits[1:]):
        speakers = engine_counts(size.speakers, config.engines).get("espeak-ng", 0)
        num_female = int(round(0.4 * speakers))
        pools[split] = female[:num_female] + male[: speakers - num_female]
        female, male = female[num_female:], male[speakers - num_female :]
    pools[LIBRISPEECH_SPLITS[0]] = female + male
    return pools


def _unique_ints(rng, count, low, high):
    """``count`` distinct random integers in ``[low, high)``, in draw order."""
    values, seen = [], set()
    while len(values) < count:
        value = int(rng.integers(low, high))
        if value not in seen:
            seen.add(value)
            values.append(value)
    return values


def _split_sentences(counts, seed, stream, text_dir=None, exclude=()):
    """Sentences for several splits: disjoint, from books or the generator.

    Book sentences (shuffled) come first; the generator fills what is
    missing. Transcripts in ``exclude`` are never used.
    """
    pools = [[] for _ in counts]
    if text_dir is not None:
        book = [s for s in sentences_from_text_dir(text_dir) if s.transcript not in exclude]
        order = np.random.default_rng([seed, stream, 99]).permutation(len(book))
        book = [book[i] for i in order]
        for index, count in enumerate(counts):
            pools[index], book = book[:count], book[count:]
    seen = set(exclude) | {s.transcript for pool in pools for s in pool}
    for index, count in enumerate(counts):
        missing = count - len(pools[index])
        if missing > 0:
            extra = generate_sentences(missing, seed=[seed, stream, index], exclude=seen)
            seen.update(s.transcript for s in extra)
            pools[index] = pools[index] + extra
    return pools


def plan_librispeech(root, config, seed, text_dir=None):
    """Decides the speakers, files and transcripts of mini-librispeech.

    Arguments
    ---------
    root : str or Path
        Corpus folder.
    config : CorpusConfig
        Sizes.
    seed : int
        Random seed.
    text_dir : str or None
        Folder of ``*.txt`` books to take sentences from (default: the
        generator).

    Returns
    -------
    Plan
        Jobs, transcripts per chapter and speakers.

    Example
    -------
    >>> plan = plan_librispeech("/tmp/x", preset_config("tiny"), seed=1)
    >>> len(plan.jobs), len(plan.speakers)
    (36, 8)
    >>> sorted({s["voice"].engine for s in plan.speakers})
    ['espeak-ng', 'festival', 'flite']
    """
    root = Path(root)
    sizes = config.splits
    pools = _partition_variants(config, seed)
    id_rng = np.random.default_rng([seed, _IDS])
    num_speakers = sum(s.speakers for s in sizes)
    speaker_ids = _unique_ints(id_rng, num_speakers, 19, 9999)
    chapter_ids = _unique_ints(id_rng, sum(s.speakers * s.chapters for s in sizes), 1000, 200000)
    sentences = _split_sentences([s.total for s in sizes], seed, _TEXT, text_dir)
    plan = Plan(root=root)
    for split_index, (split, size) in enumerate(zip(LIBRISPEECH_SPLITS, sizes)):
        counts = engine_counts(size.speakers, config.engines)
        voices = _population_voices(counts, seed, split_index, pools[split])
        texts = iter(sentences[split_index])
        for voice in voices:
            speaker = speaker_ids.pop(0)
            plan.speakers.append({"id": speaker, "split": split, "voice": voice})
            for _ in range(size.chapters):
                chapter = chapter_ids.pop(0)
                folder = root / split / str(speaker) / str(chapter)
                lines = []
                for utt in range(size.utterances):
                    sentence = next(texts)
                    utt_id = f"{speaker}-{chapter}-{utt:04d}"
                    job_seed = (seed, _AUDIO, split_index, len(plan.jobs))
                    perturbation = None
                    if split_index == 0:
                        rng = np.random.default_rng(job_seed + (1,))
                        if rng.random() < config.train_conditions_share:
                            perturbation = random_perturbation(rng, "mild")
                    plan.jobs.append(
                        Job(str(folder / f"{utt_id}.flac"), sentence.text, voice, job_seed,
                            LIBRISPEECH, perturbation, config.sample_rate)
                    )
                    lines.append((utt_id, sentence.transcript))
                plan.rows[str(folder / f"{speaker}-{chapter}.trans.txt")] = lines
    return plan


def plan_librilight(root, config, seed, text_dir=None):
    """Decides the speakers, books and files of the unlabelled pool
    (mini-librilight).

    Its speakers are new profiles of mini-librispeech's training population
    (espeak-ng variants of the training split only, the flite and festival
    voices), with ids of their own; its sentences are none of the dev or
    test sentences (`evaluation_sentences`).

    Arguments
    ---------
    root : str or Path
        Corpus folder.
    config : CorpusConfig
        Sizes (``unlabelled``).
    seed : int
        Random seed of the corpora.
    text_dir : str or None
        Folder of ``*.txt`` books to take sentences from.

    Returns
    -------
    Plan
        Jobs, the JSON metadata per file and the speakers.

    Example
    -------
    >>> plan = plan_librilight("/tmp/x", preset_config("tiny"), seed=1)
    >>> len(plan.jobs), len(plan.speakers)
    (16, 4)
    >>> plan.jobs[0].path.endswith(".flac") and "/small/" in plan.jobs[0].path
    True
    """
    root = Path(root)
    size = config.unlabelled
    train_variants = _partition_variants(config, seed)[LIBRISPEECH_SPLITS[0]]
    counts = engine_counts(size.speakers, config.engines)
    voices = _population_voices(counts, seed, _LL_OFFSET, train_variants)
    id_rng = np.random.default_rng([seed, _LL_OFFSET + _IDS])
    speaker_ids = _unique_ints(id_rng, size.speakers, 10000, 99999)  # LibriSpeech's: < 10000
    exclude = evaluation_sentences(config, seed, text_dir)
    (sentences,) = _split_sentences([size.total], seed, _LL_OFFSET + _TEXT, text_dir, exclude)
    texts = iter(sentences)
    plan = Plan(root=root)
    for voice, speaker in zip(voices, speaker_ids):
        plan.speakers.append({"id": speaker, "split": LIBRILIGHT_SPLIT, "voice": voice})
        for book_index in range(size.chapters):
            book = f"book_{speaker}_{book_index:02d}"
            folder = root / LIBRILIGHT_SPLIT / str(speaker) / book
            for n in range(size.utterances):
                job_seed = (seed, _LL_OFFSET + _AUDIO, len(plan.jobs))
                rng = np.random.default_rng(job_seed + (1,))
                perturbation = None
                if rng.random() < config.train_conditions_share:
                    perturbation = random_perturbation(rng, "mild")
                path = folder / f"{book}_{n:04d}.flac"
                plan.jobs.append(Job(str(path), next(texts).text, voice, job_seed,
                                     LIBRISPEECH, perturbation, config.sample_rate))
                plan.rows[str(path)] = {"speaker": str(speaker),
                                        "book_meta": {"id": book, "title": book}}
    return plan


def plan_commonvoice(root, config, seed, text_dir=None):
    """Decides the voices, clips, perturbations and TSV rows of mini-commonvoice.

    Arguments
    ---------
    root : str or Path
        Corpus folder.
    config : CorpusConfig
        Sizes.
    seed : int
        Random seed.
    text_dir : str or None
        Folder of ``*.txt`` books to take sentences from (default: the
        generator, with a different seed stream from mini-librispeech); the
        sentences of mini-librispeech are never reused.

    Returns
    -------
    Plan
        Jobs, TSV rows per split and clients.

    Example
    -------
    >>> plan = plan_commonvoice("/tmp/x", preset_config("tiny"), seed=1)
    >>> len(plan.jobs), sorted(plan.rows)
    (12, ['dev', 'test', 'train'])
    """
    root = Path(root)
    stream = _CV_OFFSET
    rng = np.random.default_rng([seed, stream + _VOICES])
    voices = ood_voices(sum(config.cv_voices), seed=[seed, stream + _VOICES, 1])
    _, sentences = _corpus_sentences(config, seed, text_dir)
    clip_ids = _unique_ints(np.random.default_rng([seed, stream + _IDS]),
                            sum(config.cv_clips), 10_000_000, 40_000_000)
    plan = Plan(root=root)
    start = 0
    for split_index, split in enumerate(COMMONVOICE_SPLITS):
        split_voices = voices[start : start + config.cv_voices[split_index]]
        start += config.cv_voices[split_index]
        clients = []
        for voice in split_voices:
            client = {
                "client_id": voice.client_id(str(seed)),
                "voice": voice,
                "age": str(rng.choice(AGES)),
                "gender": voice.gender,
                "accents": voice.accent,
                "split": split,
            }
            clients.append(client)
            plan.speakers.append(client)
        rows = []
        for index, sentence in enumerate(sentences[split_index]):
            client = clients[index % len(clients)] if index < len(clients) else clients[
                int(rng.integers(len(clients)))
            ]
            job_seed = (seed, stream + _AUDIO, split_index, len(plan.jobs))
            name = f"common_voice_en_{clip_ids[len(plan.jobs)]}.mp3"
            perturbation = random_perturbation(np.random.default_rng(job_seed + (1,)),
                                               config.ood_severity)
            plan.jobs.append(
                Job(str(root / "clips" / name), sentence.text, client["voice"], job_seed,
                    COMMONVOICE, perturbation, config.sample_rate)
            )
            rows.append({
                "client_id": client["client_id"],
                "path": name,
                "sentence": sentence.text,
                "up_votes": str(int(rng.integers(2, 7))),
                "down_votes": str(int(rng.integers(0, 2))),
                "age": client["age"],
                "gender": client["gender"],
                "accents": client["accents"],
                "locale": "en",
                "segment": "",
                "transcript": sentence.transcript,
                "condition": perturbation.describe(),
                "voice": client["voice"].voice_id,
            })  # fmt: skip
        plan.rows[split] = rows
    return plan


# ---------------------------------------------------------------------------
# Synthesis (runs in worker processes)
# ---------------------------------------------------------------------------
def speaking_voice(job, rng):
    """The voice that reads a job: a mini-librispeech speaker's rate and
    pitch get a little per-utterance jitter; a Common Voice clip's voice is
    its client's.

    Arguments
    ---------
    job : Job
        The utterance.
    rng : numpy.random.Generator
        The utterance's random generator (drawn from first).

    Returns
    -------
    Voice

    Example
    -------
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> job = Job("unused.flac", "Hello.", Voice(rate=1.0), (0, 1), LIBRISPEECH)
    >>> 0.96 <= speaking_voice(job, np.random.default_rng(0)).rate <= 1.04
    True
    """
    if job.kind != LIBRISPEECH:
        return job.voice
    top = 99 if job.voice.engine == "espeak-ng" else 400  # espeak-ng's scale, or Hz
    return replace(
        job.voice,
        rate=round(job.voice.rate * float(rng.uniform(0.96, 1.04)), 3),
        pitch=int(np.clip(job.voice.pitch + rng.integers(-3, 4), 0, top)),
    )


def finish_audio(job, samples, rng):
    """What follows synthesis. mini-librispeech: a random level, leading
    and trailing silence and a faint noise floor (45-60 dB below the
    speech), then the job's recording conditions if it has any. Common
    Voice: longer silences, then the clip's conditions.

    Arguments
    ---------
    job : Job
        The utterance.
    samples : numpy.ndarray
        The synthesised speech at ``job.sample_rate``.
    rng : numpy.random.Generator
        The utterance's random generator (after `speaking_voice`).

    Returns
    -------
    numpy.ndarray
        float32 samples at ``job.sample_rate``.

    Example
    -------
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> job = Job("x.mp3", "Hi.", Voice("flite", "slt"), (0, 2), COMMONVOICE, Perturbation())
    >>> finish_audio(job, np.ones(1600, dtype="float32"), np.random.default_rng(0)).ndim
    1
    """
    rate = job.sample_rate
    if job.kind != LIBRISPEECH:
        samples = add_silence(samples, rate, rng.uniform(0.1, 0.8), rng.uniform(0.1, 0.6))
        return job.perturbation.apply(samples, rate, rng)
    samples = normalize_peak(samples, 10 ** (float(rng.uniform(-9.0, -2.0)) / 20))
    samples = add_silence(samples, rate, rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35))
    samples = add_noise(samples, float(rng.uniform(45.0, 60.0)), rng, "pink")
    if job.perturbation is not None:
        samples = job.perturbation.apply(samples, rate, rng)
    return samples


def write_audio(path, samples, sample_rate):
    """Writes 16-bit FLAC or MP3 (by extension) through a temporary file.

    The file appears under its name only once complete, so an interrupted
    build never leaves a truncated file that a resume would keep. A write
    that fails (soundfile says only "System error." when the disk is full)
    is an ``OSError`` naming the file (``ENOSPC`` when the disk is full);
    the partial file is removed.

    Arguments
    ---------
    path : str
        ``*.flac`` or ``*.mp3``.
    samples : numpy.ndarray
        Mono samples in [-1, 1] (clipped otherwise).
    sample_rate : int
        Their rate.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a", "b.flac")
    >>> write_audio(path, np.zeros(1600, dtype="float32"), 16000)
    >>> audio_duration(path)
    0.1
    """
    if path.endswith(".mp3"):
        file_format, subtype = "MP3", "MPEG_LAYER_III"
    else:
        file_format, subtype = "FLAC", "PCM_16"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    try:
        sf.write(partial, np.clip(samples, -1.0, 1.0), sample_rate, format=file_format,
                 subtype=subtype)
    except sf.LibsndfileError as err:  # a RuntimeError with libsndfile's text
        if os.path.exists(partial):
            os.remove(partial)
        if shutil.disk_usage(os.path.dirname(path)).free < max(1 << 20, 4 * samples.size):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path) from err
        raise OSError(errno.EIO, f"cannot write audio ({err})", path) from err
    os.replace(partial, path)


def render_jobs(jobs):
    """Synthesises and writes the jobs not on disk yet (festival's share
    in one process).

    Arguments
    ---------
    jobs : list of Job
        Utterances (of one sample rate); each one's seed alone decides its
        random choices, so the result does not depend on how jobs are
        grouped or which process renders them.

    Returns
    -------
    list of tuple
        ``(path, duration_seconds)`` per job.

    Example
    -------
    >>> import tempfile, os
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> path = os.path.join(tempfile.mkdtemp(), "a.flac")
    >>> job = Job(path, "Hello there.", Voice(), (0, 1), LIBRISPEECH)
    >>> [(p == path, 0.5 < seconds < 3) for p, seconds in render_jobs([job])]
    [(True, True)]
    >>> sf.info(path).samplerate
    16000
    """
    todo = [job for job in jobs if audio_duration(job.path) is None]
    if todo:
        rngs = [np.random.default_rng(job.seed) for job in todo]
        voices = [speaking_voice(job, rng) for job, rng in zip(todo, rngs)]
        speech = synthesize_many([(v, job.text) for v, job in zip(voices, todo)],
                                 todo[0].sample_rate)
        for job, samples, rng in zip(todo, speech, rngs):
            write_audio(job.path, finish_audio(job, samples, rng), job.sample_rate)
    return [(job.path, audio_duration(job.path)) for job in jobs]


def _ignore_interrupt():
    """Pool workers leave Ctrl-C to the main process (which stops them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _batches(jobs, size=16):
    """Consecutive jobs in batches: one festival process per batch."""
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def run_jobs(jobs, workers=None, desc=None):
    """Renders jobs in a process pool with a progress bar.

    Arguments
    ---------
    jobs : list of Job
        Utterances.
    workers : int or None
        Processes (default ``os.cpu_count()``; 1 runs in this process).
    desc : str or None
        Label of the progress bar.

    Returns
    -------
    dict
        Duration in seconds per output path.

    Example
    -------
    >>> run_jobs([], workers=1)
    {}
    """
    workers = workers or os.cpu_count() or 1
    durations = {}
    batches = _batches(jobs)
    with tqdm(total=len(jobs), desc=desc, unit="utt", dynamic_ncols=True) as bar:
        if workers <= 1 or len(batches) <= 1:
            results = map(render_jobs, batches)
            for rendered in results:
                durations.update(rendered)
                bar.update(len(rendered))
        else:
            # Workers are born ignoring Ctrl-C (no window before an
            # initializer runs): the main process alone stops them.
            handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                pool = multiprocessing.Pool(workers, initializer=_ignore_interrupt)
            finally:
                signal.signal(signal.SIGINT, handler)
            with pool:
                for rendered in pool.imap_unordered(render_jobs, batches):
                    durations.update(rendered)
                    bar.update(len(rendered))
    return durations


# ---------------------------------------------------------------------------
# Metadata files
# ---------------------------------------------------------------------------
def _write_text(path, text):
    """Writes a text file atomically (an error names the file)."""
    partial = f"{path}.part"
    try:
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as err:
        err.filename = err.filename or str(path)
        raise
    os.replace(partial, path)


def _vocabulary(transcripts):
    """Distinct words of transcripts."""
    return {w for t in transcripts for w in t.split()}


def write_librispeech_metadata(plan, durations):
    """Writes the ``trans.txt`` files, ``SPEAKERS.TXT`` and ``conditions.tsv``
    (not part of LibriSpeech: each utterance's voice and recording
    conditions, for analysis); returns statistics.

    Arguments
    ---------
    plan : Plan
        The mini-librispeech plan.
    durations : dict
        Seconds per audio path.

    Returns
    -------
    dict
        Per split: utterances, speakers, speakers per engine, hours,
        vocabulary size.

    Example
    -------
    >>> import tempfile
    >>> plan = plan_librispeech(tempfile.mkdtemp(), preset_config("tiny"), seed=1)
    >>> stats = write_librispeech_metadata(plan, {j.path: 2.0 for j in plan.jobs})
    >>> stats["dev-clean"]["utterances"], (plan.root / "SPEAKERS.TXT").is_file()
    (6, True)
    """
    for trans_path, lines in plan.rows.items():
        Path(trans_path).parent.mkdir(parents=True, exist_ok=True)
        _write_text(trans_path, "".join(f"{u} {t}\n" for u, t in lines))
    minutes = {}
    for job in plan.jobs:
        speaker = Path(job.path).name.split("-")[0]
        minutes[speaker] = minutes.get(speaker, 0.0) + durations[job.path] / 60
    header = (
        "; Speakers of mini-librispeech, a synthetic corpus built by speechbrain-ee\n"
        "; (speechbrain_ee.dataio.corpus); NAME is the synthesiser's speaker profile.\n"
        ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
    )
    body = "".join(
        f"{s['id']:<5}| {'F' if s['voice'].gender == 'female' else 'M'} | {s['split']:<17}|"
        f" {minutes[str(s['id'])]:5.2f} | {s['voice'].voice_id}\n"
        for s in sorted(plan.speakers, key=lambda s: s["id"])
    )
    _write_text(plan.root / "SPEAKERS.TXT", header + body)
    _write_text(plan.root / "conditions.tsv", "id\tsplit\tvoice\tcondition\n" + "".join(
        f"{Path(j.path).stem}\t{Path(j.path).relative_to(plan.root).parts[0]}\t"
        f"{j.voice.voice_id}\t{j.perturbation.describe() if j.perturbation else 'clean'}\n"
        for j in plan.jobs))
    stats = {}
    for split in LIBRISPEECH_SPLITS:
        prefix = str(plan.root / split) + os.sep
        transcripts = [
            t for p, lines in plan.rows.items() if p.startswith(prefix) for _, t in lines
        ]
        seconds = sum(d for p, d in durations.items() if p.startswith(prefix))
        speakers = [s for s in plan.speakers if s["split"] == split]
        stats[split] = {
            "utterances": len(transcripts),
            "speakers": len(speakers),
            "engines": {e: sum(s["voice"].engine == e for s in speakers)
                        for e in sorted({s["voice"].engine for s in speakers})},
            "hours": round(seconds / 3600, 3),
            "vocabulary": len(_vocabulary(transcripts)),
        }
    return stats


def write_commonvoice_metadata(plan, durations):
    """Writes ``train.tsv``, ``dev.tsv``, ``test.tsv`` (and ``conditions.tsv``).

    ``conditions.tsv`` is not part of Common Voice: it records the voice and
    the perturbations of each clip, for analysis.

    Arguments
    ---------
    plan : Plan
        The mini-commonvoice plan.
    durations : dict
        Seconds per audio path.

    Returns
    -------
    dict
        Per split: clips, clients, hours, vocabulary size.

    Example
    -------
    >>> import tempfile
    >>> plan = plan_commonvoice(tempfile.mkdtemp(), preset_config("tiny"), seed=1)
    >>> stats = write_commonvoice_metadata(plan, {j.path: 2.0 for j in plan.jobs})
    >>> stats["test"]["clips"], (plan.root / "test.tsv").is_file()
    (5, True)
    """
    plan.root.mkdir(parents=True, exist_ok=True)
    stats = {}
    conditions = ["path\tsplit\tvoice\tcondition\n"]
    for split, rows in plan.rows.items():
        lines = ["\t".join(TSV_COLUMNS) + "\n"]
        lines += ["\t".join(row[c] for c in TSV_COLUMNS) + "\n" for row in rows]
        _write_text(plan.root / f"{split}.tsv", "".join(lines))
        conditions += [f"{r['path']}\t{split}\t{r['voice']}\t{r['condition']}\n" for r in rows]
        seconds = sum(durations[str(plan.root / "clips" / r["path"])] for r in rows)
        stats[split] = {
            "clips": len(rows),
            "clients": len({r["client_id"] for r in rows}),
            "hours": round(seconds / 3600, 3),
            "vocabulary": len(_vocabulary(r["transcript"] for r in rows)),
        }
    _write_text(plan.root / "conditions.tsv", "".join(conditions))
    return stats


def evaluation_sentences(config, seed, text_dir=None):
    """The transcripts of every dev and test utterance of both corpora and
    of every mini-commonvoice clip: what a language-model text must not
    hold.

    Arguments
    ---------
    config : CorpusConfig
        Sizes.
    seed : int
        Random seed of the corpora.
    text_dir : str or None
        Their books, if any.

    Returns
    -------
    set of str

    Example
    -------
    >>> len(evaluation_sentences(preset_config("tiny"), seed=0))
    24
    """
    librispeech, commonvoice = _corpus_sentences(config, seed, text_dir)
    return {s.transcript for pool in librispeech[1:] + commonvoice for s in pool}


def _corpus_sentences(config, seed, text_dir):
    """The sentences of each mini-librispeech split and of each
    mini-commonvoice split (which never reuses a mini-librispeech one)."""
    librispeech = _split_sentences([s.total for s in config.splits], seed, _TEXT, text_dir)
    exclude = {s.transcript for pool in librispeech for s in pool}
    commonvoice = _split_sentences(config.cv_clips, seed, _CV_OFFSET + _TEXT, text_dir,
                                   exclude)
    return librispeech, commonvoice


def write_lm_text(root, config, seed, text_dir=None):
    """Writes mini-librispeech-lm's ``librispeech-lm-norm.txt``:
    ``config.lm_sentences`` sentences of the corpora's source, none of them
    an `evaluation_sentences` one.

    Arguments
    ---------
    root : Path
        The mini-librispeech-lm folder.
    config : CorpusConfig
        Sizes.
    seed : int
        Random seed of the corpora.
    text_dir : str or None
        Their books, if any.

    Returns
    -------
    dict
        Statistics: sentences, words, vocabulary.
    """
    exclude = evaluation_sentences(config, seed, text_dir)
    (pool,) = _split_sentences([config.lm_sentences], seed, _LM_OFFSET + _TEXT, text_dir,
                               exclude)
    lines = [s.transcript for s in pool]
    _write_text(root / LM_TEXT_FILE, "".join(line + "\n" for line in lines))
    return {"sentences": len(lines), "words": sum(len(l.split()) for l in lines),
            "vocabulary": len(_vocabulary(lines)),
            "excluded_evaluation_sentences": len(exclude)}


def write_librilight_metadata(plan, durations):
    """Writes the ``.json`` beside each file of the unlabelled pool (as
    Libri-Light's: ``speaker``, ``book_meta``; here also ``duration``) and
    ``conditions.tsv``; returns statistics.

    Arguments
    ---------
    plan : Plan
        The mini-librilight plan.
    durations : dict
        Seconds per audio path.

    Returns
    -------
    dict
        Files, speakers, hours.
    """
    for job in plan.jobs:
        meta = dict(plan.rows[job.path], duration=round(durations[job.path], 3))
        _write_text(Path(job.path).with_suffix(".json"), json.dumps(meta) + "\n")
    _write_text(plan.root / "conditions.tsv", "path\tvoice\tcondition\n" + "".join(
        f"{Path(j.path).relative_to(plan.root)}\t{j.voice.voice_id}\t"
        f"{j.perturbation.describe() if j.perturbation else 'clean'}\n" for j in plan.jobs))
    return {LIBRILIGHT_SPLIT: {
        "files": len(plan.jobs),
        "speakers": len(plan.speakers),
        "hours": round(sum(durations[j.path] for j in plan.jobs) / 3600, 3),
    }}


# ---------------------------------------------------------------------------
# Folder safety and the build
# ---------------------------------------------------------------------------
def read_meta(root):
    """The ``corpus.json`` of a corpus folder, or None.

    Arguments
    ---------
    root : str or Path
        Corpus folder.

    Returns
    -------
    dict or None
        The metadata.

    Example
    -------
    >>> read_meta("/nonexistent") is None
    True
    """
    try:
        with open(Path(root) / META_FILE, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "options" in meta else None


def _write_meta(root, options, complete, stats=None):
    """Writes ``corpus.json``."""
    meta = {"options": options, "complete": complete}
    if stats is not None:
        meta["stats"] = stats
    _write_text(Path(root) / META_FILE, json.dumps(meta, indent=2) + "\n")


def prepare_folder(root, options, overwrite=False):
    """Checks a corpus folder before a build.

    Arguments
    ---------
    root : str or Path
        Corpus folder.
    options : dict
        The options of the build (JSON-compatible).
    overwrite : bool
        Remove the folder first, whatever it holds.

    Returns
    -------
    str
        ``"new"``, ``"resume"`` (incomplete build with the same options) or
        ``"complete"`` (a finished build with the same options).

    Raises
    ------
    FileExistsError
        When the folder is not empty and holds another corpus or something
        else, and ``overwrite`` is False.

    Example
    -------
    >>> import tempfile
    >>> prepare_folder(Path(tempfile.mkdtemp()) / "c", {"seed": 1})
    'new'
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root} is a file. Choose another --out.")
    if root.is_dir() and any(root.iterdir()):
        if overwrite:
            logger.info("Removing %s (--overwrite)", root)
            shutil.rmtree(root)
        else:
            meta = read_meta(root)
            hint = "Pass --overwrite to replace it or choose another --out."
            if meta is None:
                raise FileExistsError(
                    f"{root} is not empty and does not hold a corpus built by speechbrain-ee "
                    f"(no readable {META_FILE}). {hint}"
                )
            if meta["options"] != options:
                old = meta["options"]
                changes = ", ".join(
                    f"{key}: {old.get(key)!r} -> {options.get(key)!r}"
                    for key in sorted(set(old) | set(options))
                    if old.get(key) != options.get(key)
                )
                raise FileExistsError(
                    f"{root} holds a corpus built with other options ({changes}). {hint}"
                )
            return "complete" if meta.get("complete") else "resume"
    return "new"


def _options(corpus, preset, config, seed, text_dir):
    """The JSON options recorded in ``corpus.json`` (what the audio depends on)."""
    sizes = asdict(config)
    keys = {LIBRISPEECH: ("train", "dev", "test", "engines", "train_conditions_share"),
            COMMONVOICE: ("cv_clips", "cv_voices", "ood_severity"),
            # The text excludes the dev and test sentences of both corpora.
            LIBRISPEECH_LM: ("lm_sentences", "train", "dev", "test", "cv_clips"),
            LIBRILIGHT: ("unlabelled", "train", "dev", "test", "cv_clips", "engines",
                         "train_conditions_share")}[corpus]
    options = {
        "corpus": CORPUS_DIRS[corpus],
        "version": VERSION,
        "preset": preset,
        "seed": seed,
        "sizes": {k: sizes[k] for k in keys + ("sample_rate",)},
        "text_dir": str(Path(text_dir).resolve()) if text_dir else None,
    }
    return json.loads(json.dumps(options))


def build_corpus(corpus, out_dir, preset="default", seed=DEFAULT_SEED, text_dir=None,
                 workers=None, overwrite=False, config=None):
    """Builds (or resumes, or recognises) one corpus.

    Arguments
    ---------
    corpus : str
        ``"librispeech"``, ``"commonvoice"``, ``"librispeech-lm"`` or
        ``"librilight"``.
    out_dir : str or Path
        Folder that holds the corpus folders.
    preset : str
        ``"default"`` or ``"tiny"``.
    seed : int
        Random seed.
    text_dir : str or None
        Folder of ``*.txt`` books for the sentences.
    workers : int or None
        Synthesis processes (default ``os.cpu_count()``).
    overwrite : bool
        Remove and rebuild the corpus folder.
    config : CorpusConfig or None
        Sizes overriding the preset's.

    Returns
    -------
    Path
        The corpus folder.

    Example
    -------
    >>> import tempfile, logging
    >>> logging.disable(logging.INFO)
    >>> one = CorpusConfig(SplitSize(1, 1, 1), SplitSize(1, 1, 1), SplitSize(1, 1, 1))
    >>> root = build_corpus(LIBRISPEECH, tempfile.mkdtemp(), "tiny", config=one, workers=1)
    >>> len(list(root.rglob("*.flac"))), read_meta(root)["complete"]
    (3, True)
    >>> logging.disable(logging.NOTSET)
    """
    config = config or preset_config(preset)
    root = Path(out_dir) / CORPUS_DIRS[corpus]
    options = _options(corpus, preset, config, seed, text_dir)
    state = prepare_folder(root, options, overwrite)
    if corpus == LIBRISPEECH_LM:
        build = _lm_text_build(root, state, config, seed, text_dir)
    else:
        build = _speech_build(corpus, root, state, config, seed, text_dir, workers)
    if build is None:
        logger.info("%s is already built (same options): nothing to do.", root)
        return root
    root.mkdir(parents=True, exist_ok=True)
    _write_meta(root, options, complete=False)
    start = time.time()
    stats = build()
    stats["build_seconds"] = round(time.time() - start, 1)
    _write_meta(root, options, complete=True, stats=stats)
    logger.info("Built %s: %s", root, json.dumps(stats))
    return root


def _speech_build(corpus, root, state, config, seed, text_dir, workers):
    """What `build_corpus` runs for a corpus of audio (a callable giving
    its statistics), or None when it is complete."""
    planner, writer = {LIBRISPEECH: (plan_librispeech, write_librispeech_metadata),
                       COMMONVOICE: (plan_commonvoice, write_commonvoice_metadata),
                       LIBRILIGHT: (plan_librilight, write_librilight_metadata)}[corpus]
    plan = planner(root, config, seed, text_dir)
    if state == "complete":
        missing = [j for j in plan.jobs if not os.path.exists(j.path)]
        if not missing:
            return None
        logger.warning("%s: %d files are missing; synthesising them again.", root, len(missing))
    elif state == "resume":
        logger.info("Resuming the incomplete corpus in %s", root)
    for engine in sorted({job.voice.engine for job in plan.jobs}):
        check_engine(engine)
    return lambda: writer(plan, run_jobs(plan.jobs, workers, desc=CORPUS_DIRS[corpus]))


def _lm_text_build(root, state, config, seed, text_dir):
    """What `build_corpus` runs for mini-librispeech-lm (text only), or None
    when it is complete."""
    if state == "complete" and (root / LM_TEXT_FILE).is_file():
        return None
    return lambda: write_lm_text(root, config, seed, text_dir)


def build_corpora(out_dir, preset="default", seed=DEFAULT_SEED, text_dir=None, workers=None,
                  overwrite=False, only=None, config=None):
    """Builds mini-librispeech, mini-commonvoice and mini-librispeech-lm
    (and, when ``only`` asks for it, the unlabelled mini-librilight) under
    ``out_dir``.

    A complete corpus with the same options is left as it is; an
    incomplete one is resumed; a folder with another corpus or other files
    raises ``FileExistsError`` unless ``overwrite`` (which removes only the
    corpus folders, never ``out_dir`` itself).

    Arguments
    ---------
    out_dir : str or Path
        Output folder.
    preset : str
        ``"default"`` or ``"tiny"``.
    seed : int
        Random seed: the same seed gives the same transcripts and audio.
    text_dir : str or None
        Folder of ``*.txt`` books for the sentences (default: the built-in
        sentence generator).
    workers : int or None
        Synthesis processes (default ``os.cpu_count()``); the result does not
        depend on it.
    overwrite : bool
        Remove and rebuild the corpus folders.
    only : str or None
        ``"librispeech"``, ``"commonvoice"``, ``"librispeech-lm"`` or
        ``"librilight"`` to build just one.
    config : CorpusConfig or None
        Sizes overriding the preset's.

    Returns
    -------
    dict
        Corpus name (``"librispeech"``, ``"commonvoice"``,
        ``"librispeech-lm"``, ``"librilight"``) -> folder.

    Example
    -------
    >>> import tempfile, logging
    >>> logging.disable(logging.INFO)
    >>> one = SplitSize(1, 1, 1)
    >>> tiny = CorpusConfig(one, one, one, cv_clips=(1, 1, 1), cv_voices=(1, 1, 1),
    ...                     lm_sentences=10)
    >>> paths = build_corpora(tempfile.mkdtemp(), "tiny", config=tiny, workers=1)
    >>> sorted(p.name for p in paths.values())
    ['mini-commonvoice', 'mini-librispeech', 'mini-librispeech-lm']
    >>> logging.disable(logging.NOTSET)
    """
    if only not in (None, *CORPUS_DIRS):
        raise ValueError(f"only must be None or one of {sorted(CORPUS_DIRS)}, got {only!r}")
    corpora = [only] if only else list(DEFAULT_CORPORA)
    return {
        corpus: build_corpus(corpus, out_dir, preset, seed, text_dir, workers, overwrite, config)
        for corpus in corpora
    }


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def add_arguments(parser):
    """Adds the ``corpus`` command's options to an argument parser.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The parser (or sub-parser).

    Example
    -------
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["--out", "c", "--preset", "tiny"]).preset
    'tiny'
    """
    parser.add_argument("--out", required=True,
                        help="output folder (holds mini-librispeech/, mini-commonvoice/ and "
                        "mini-librispeech-lm/)")
    parser.add_argument("--preset", default="default", choices=PRESETS,
                        help="corpus sizes: tiny (tests), default (the demo, ~6 h of "
                        "training speech) or large (~12 h)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--text-dir", default=None,
                        help="folder of *.txt books to take sentences from "
                        "(default: the built-in sentence generator)")
    parser.add_argument("--workers", type=int, default=None,
                        help="synthesis processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true",
                        help="remove and rebuild existing corpus folders")
    parser.add_argument("--only", default=None, choices=tuple(CORPUS_DIRS),
                        help="build only one of the corpora; librilight (the unlabelled "
                        "pool for self-supervised pretraining) is built only so")


def run(args):
    """Runs the ``corpus`` command and prints a summary.

    Errors (``FileExistsError`` for a folder that must not be overwritten,
    ``RuntimeError`` for a missing speech engine, ``OSError`` for a
    read-only or full disk) propagate to the caller; Ctrl-C stops the
    synthesis processes too, and the same command resumes the build.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed options of ``add_arguments``.

    Example
    -------
    >>> import tempfile
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> run(parser.parse_args(["--out", tempfile.mkdtemp(), "--preset", "tiny",
    ...                        "--only", "commonvoice", "--workers", "1"]))  # doctest: +ELLIPSIS
    mini-commonvoice: ...
      train: clips=4, clients=2, ...
    ...
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.time()
    paths = build_corpora(args.out, preset=args.preset, seed=args.seed, text_dir=args.text_dir,
                          workers=args.workers, overwrite=args.overwrite, only=args.only)
    for corpus, path in paths.items():
        stats = (read_meta(path) or {}).get("stats", {})
        print(f"{CORPUS_DIRS[corpus]}: {path}")
        for split, values in stats.items():
            if isinstance(values, dict):
                print(f"  {split}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
        flat = {k: v for k, v in stats.items() if not isinstance(v, dict)}
        if flat:
            print("  " + ", ".join(f"{k}={v}" for k, v in flat.items()))
    print(f"done in {time.time() - start:.1f} s")


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description="Build the built-in synthetic corpora.")
    add_arguments(_parser)
    _args = _parser.parse_args()
    raise SystemExit(run_command("corpus", run, _args, where=f"--out {_args.out}"))
