"""Builds the two built-in offline corpora.

* ``<out>/mini-librispeech``: clean synthetic read speech in the exact
  LibriSpeech layout (``<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac``,
  ``<speaker>-<chapter>.trans.txt``, ``SPEAKERS.TXT``), splits
  ``train-clean-100``, ``dev-clean`` and ``test-clean`` with disjoint
  espeak-ng voices, so LibriSpeech recipes run on it unchanged.
* ``<out>/mini-commonvoice``: an out-of-distribution set in the Common Voice
  layout (``clips/*.mp3``, ``train.tsv``, ``dev.tsv``, ``test.tsv``), spoken by
  flite voices (never used in mini-librispeech) with speed, reverberation,
  band-limiting and noise perturbations chosen per clip.

Builds are deterministic given the seed (whatever the number of workers),
resumable (finished utterances are kept) and never overwrite another folder
silently. Command line::

    python -m speechbrain_ee.dataio.corpus --out corpora [--preset tiny]

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import json
import logging
import multiprocessing
import os
import shutil
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
    ESPEAK_FEMALE_VARIANTS,
    ESPEAK_MALE_VARIANTS,
    SAMPLE_RATE,
    Perturbation,
    add_noise,
    add_silence,
    check_engine,
    espeak_voices,
    flite_voices,
    normalize_peak,
    random_perturbation,
    synthesize,
)

logger = logging.getLogger(__name__)

VERSION = 1
LIBRISPEECH = "librispeech"
COMMONVOICE = "commonvoice"
CORPUS_DIRS = {LIBRISPEECH: "mini-librispeech", COMMONVOICE: "mini-commonvoice"}
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
        flite speaker profiles of each Common Voice split (disjoint).
    sample_rate : int
        Sample rate of both corpora.

    Example
    -------
    >>> CorpusConfig(cv_clips=(4, 3, 4)).cv_clips
    (4, 3, 4)
    """

    train: SplitSize = SplitSize(72, 2, 12)
    dev: SplitSize = SplitSize(8, 1, 25)
    test: SplitSize = SplitSize(8, 1, 30)
    cv_clips: tuple = (100, 100, 200)
    cv_voices: tuple = (10, 6, 12)
    sample_rate: int = SAMPLE_RATE

    @property
    def splits(self):
        """The LibriSpeech split sizes, in ``LIBRISPEECH_SPLITS`` order."""
        return (self.train, self.dev, self.test)


def preset_config(preset):
    """The configuration of a named preset.

    Arguments
    ---------
    preset : str
        ``"default"`` (about 1.5 h of training speech from 72 voices, 10 min
        dev, 12 min test, 400 Common Voice clips) or ``"tiny"`` (for tests).

    Returns
    -------
    CorpusConfig
        The sizes.

    Example
    -------
    >>> preset_config("tiny").train.total
    24
    """
    if preset == "default":
        return CorpusConfig()
    if preset == "tiny":
        return CorpusConfig(
            train=SplitSize(4, 1, 6),
            dev=SplitSize(2, 1, 3),
            test=SplitSize(2, 1, 3),
            cv_clips=(4, 3, 5),
            cv_voices=(2, 1, 2),
        )
    raise ValueError(f"Unknown preset {preset!r}: use 'default' or 'tiny'.")


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
        Perturbations of a Common Voice clip.
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
        num_female = int(round(0.4 * size.speakers))
        pools[split] = female[:num_female] + male[: size.speakers - num_female]
        female, male = female[num_female:], male[size.speakers - num_female :]
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
        voices = espeak_voices(size.speakers, seed=[seed, _VOICES, split_index + 1],
                               variants=pools[split])
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
                    plan.jobs.append(
                        Job(str(folder / f"{utt_id}.flac"), sentence.text, voice, job_seed,
                            LIBRISPEECH, sample_rate=config.sample_rate)
                    )
                    lines.append((utt_id, sentence.transcript))
                plan.rows[str(folder / f"{speaker}-{chapter}.trans.txt")] = lines
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
    voices = flite_voices(sum(config.cv_voices), seed=[seed, stream + _VOICES, 1])
    librispeech = _split_sentences([s.total for s in config.splits], seed, _TEXT, text_dir)
    exclude = {s.transcript for pool in librispeech for s in pool}
    sentences = _split_sentences(config.cv_clips, seed, stream + _TEXT, text_dir, exclude)
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
            perturbation = random_perturbation(np.random.default_rng(job_seed + (1,)))
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
# Synthesis of one utterance (runs in worker processes)
# ---------------------------------------------------------------------------
def clean_speech(job, rng):
    """Synthesises a clean read-speech utterance (mini-librispeech).

    The speaker's rate and pitch get a little per-utterance jitter; the
    level is random, with leading and trailing silence and a faint noise
    floor (45-60 dB below the speech).

    Arguments
    ---------
    job : Job
        The utterance.
    rng : numpy.random.Generator
        The utterance's random generator.

    Returns
    -------
    numpy.ndarray
        float32 samples at ``job.sample_rate``.

    Example
    -------
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> job = Job("unused.flac", "Hello.", Voice(), (0, 1), LIBRISPEECH)
    >>> clean_speech(job, np.random.default_rng(0)).dtype
    dtype('float32')
    """
    voice = replace(
        job.voice,
        rate=round(job.voice.rate * float(rng.uniform(0.96, 1.04)), 3),
        pitch=int(np.clip(job.voice.pitch + rng.integers(-3, 4), 0, 99)),
    )
    samples, rate = synthesize(voice, job.text, job.sample_rate)
    samples = normalize_peak(samples, 10 ** (float(rng.uniform(-9.0, -2.0)) / 20))
    samples = add_silence(samples, rate, rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35))
    return add_noise(samples, float(rng.uniform(45.0, 60.0)), rng, "pink")


def perturbed_speech(job, rng):
    """Synthesises a Common Voice clip: silences, then the job's perturbations.

    Arguments
    ---------
    job : Job
        The clip (with a ``perturbation``).
    rng : numpy.random.Generator
        The clip's random generator.

    Returns
    -------
    numpy.ndarray
        float32 samples at ``job.sample_rate``.

    Example
    -------
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> job = Job("x.mp3", "Hi.", Voice("flite", "slt"), (0, 2), COMMONVOICE, Perturbation())
    >>> perturbed_speech(job, np.random.default_rng(0)).ndim
    1
    """
    samples, rate = synthesize(job.voice, job.text, job.sample_rate)
    samples = add_silence(samples, rate, rng.uniform(0.1, 0.8), rng.uniform(0.1, 0.6))
    return job.perturbation.apply(samples, rate, rng)


def write_audio(path, samples, sample_rate):
    """Writes 16-bit FLAC or MP3 (by extension) through a temporary file.

    The file appears under its name only once complete, so an interrupted
    build never leaves a truncated file that a resume would keep.

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
    sf.write(partial, np.clip(samples, -1.0, 1.0), sample_rate, format=file_format,
             subtype=subtype)
    os.replace(partial, path)


def render_job(job):
    """Synthesises one utterance and writes it, unless already on disk.

    Arguments
    ---------
    job : Job
        The utterance; its seed alone decides the random choices, so the
        result does not depend on which process renders it.

    Returns
    -------
    tuple
        ``(path, duration_seconds)``.

    Example
    -------
    >>> import tempfile, os
    >>> from speechbrain_ee.dataio.synthesis import Voice
    >>> path = os.path.join(tempfile.mkdtemp(), "a.flac")
    >>> job = Job(path, "Hello there.", Voice(), (0, 1), LIBRISPEECH)
    >>> _, seconds = render_job(job)
    >>> 0.5 < seconds < 3, sf.info(path).samplerate
    (True, 16000)
    """
    duration = audio_duration(job.path)
    if duration is not None:
        return job.path, duration
    rng = np.random.default_rng(job.seed)
    render = clean_speech if job.kind == LIBRISPEECH else perturbed_speech
    write_audio(job.path, render(job, rng), job.sample_rate)
    return job.path, audio_duration(job.path)


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
    with tqdm(total=len(jobs), desc=desc, unit="utt", dynamic_ncols=True) as bar:
        if workers <= 1 or len(jobs) <= 1:
            results = map(render_job, jobs)
            for path, seconds in results:
                durations[path] = seconds
                bar.update()
        else:
            with multiprocessing.Pool(workers) as pool:
                for path, seconds in pool.imap_unordered(render_job, jobs, chunksize=4):
                    durations[path] = seconds
                    bar.update()
    return durations


# ---------------------------------------------------------------------------
# Metadata files
# ---------------------------------------------------------------------------
def _write_text(path, text):
    """Writes a text file atomically."""
    partial = f"{path}.part"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, path)


def _vocabulary(transcripts):
    """Distinct words of transcripts."""
    return {w for t in transcripts for w in t.split()}


def write_librispeech_metadata(plan, durations):
    """Writes the ``trans.txt`` files and ``SPEAKERS.TXT``; returns statistics.

    Arguments
    ---------
    plan : Plan
        The mini-librispeech plan.
    durations : dict
        Seconds per audio path.

    Returns
    -------
    dict
        Per split: utterances, speakers, hours, vocabulary size.

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
        "; (speechbrain_ee.dataio.corpus); NAME is the espeak-ng speaker profile.\n"
        ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
    )
    body = "".join(
        f"{s['id']:<5}| {'F' if s['voice'].gender == 'female' else 'M'} | {s['split']:<17}|"
        f" {minutes[str(s['id'])]:5.2f} | {s['voice'].voice_id}\n"
        for s in sorted(plan.speakers, key=lambda s: s["id"])
    )
    _write_text(plan.root / "SPEAKERS.TXT", header + body)
    stats = {}
    for split in LIBRISPEECH_SPLITS:
        prefix = str(plan.root / split) + os.sep
        transcripts = [
            t for p, lines in plan.rows.items() if p.startswith(prefix) for _, t in lines
        ]
        seconds = sum(d for p, d in durations.items() if p.startswith(prefix))
        stats[split] = {
            "utterances": len(transcripts),
            "speakers": sum(s["split"] == split for s in plan.speakers),
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
    keys = ("train", "dev", "test") if corpus == LIBRISPEECH else ("cv_clips", "cv_voices")
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
        ``"librispeech"`` or ``"commonvoice"``.
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
    planner = plan_librispeech if corpus == LIBRISPEECH else plan_commonvoice
    plan = planner(root, config, seed, text_dir)
    if state == "complete":
        missing = [j for j in plan.jobs if not os.path.exists(j.path)]
        if not missing:
            logger.info("%s is already built (same options): nothing to do.", root)
            return root
        logger.warning("%s: %d files are missing; synthesising them again.", root, len(missing))
    elif state == "resume":
        logger.info("Resuming the incomplete corpus in %s", root)
    check_engine("espeak-ng" if corpus == LIBRISPEECH else "flite")
    root.mkdir(parents=True, exist_ok=True)
    _write_meta(root, options, complete=False)
    start = time.time()
    durations = run_jobs(plan.jobs, workers, desc=CORPUS_DIRS[corpus])
    if corpus == LIBRISPEECH:
        stats = write_librispeech_metadata(plan, durations)
    else:
        stats = write_commonvoice_metadata(plan, durations)
    stats["build_seconds"] = round(time.time() - start, 1)
    _write_meta(root, options, complete=True, stats=stats)
    logger.info("Built %s: %s", root, json.dumps(stats))
    return root


def build_corpora(out_dir, preset="default", seed=DEFAULT_SEED, text_dir=None, workers=None,
                  overwrite=False, only=None, config=None):
    """Builds mini-librispeech and mini-commonvoice under ``out_dir``.

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
        ``"librispeech"`` or ``"commonvoice"`` to build just one.
    config : CorpusConfig or None
        Sizes overriding the preset's.

    Returns
    -------
    dict
        Corpus name (``"librispeech"``, ``"commonvoice"``) -> folder.

    Example
    -------
    >>> import tempfile, logging
    >>> logging.disable(logging.INFO)
    >>> one = SplitSize(1, 1, 1)
    >>> tiny = CorpusConfig(one, one, one, cv_clips=(1, 1, 1), cv_voices=(1, 1, 1))
    >>> paths = build_corpora(tempfile.mkdtemp(), "tiny", config=tiny, workers=1)
    >>> sorted(p.name for p in paths.values())
    ['mini-commonvoice', 'mini-librispeech']
    >>> logging.disable(logging.NOTSET)
    """
    if only not in (None, LIBRISPEECH, COMMONVOICE):
        raise ValueError(f"only must be None, {LIBRISPEECH!r} or {COMMONVOICE!r}, got {only!r}")
    corpora = [only] if only else [LIBRISPEECH, COMMONVOICE]
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
                        help="output folder (holds mini-librispeech/ and mini-commonvoice/)")
    parser.add_argument("--preset", default="default", choices=("default", "tiny"),
                        help="corpus sizes: default (~1.5 h training speech) or tiny (tests)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--text-dir", default=None,
                        help="folder of *.txt books to take sentences from "
                        "(default: the built-in sentence generator)")
    parser.add_argument("--workers", type=int, default=None,
                        help="synthesis processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true",
                        help="remove and rebuild existing corpus folders")
    parser.add_argument("--only", default=None, choices=(LIBRISPEECH, COMMONVOICE),
                        help="build only one of the two corpora")


def run(args):
    """Runs the ``corpus`` command and prints a summary.

    Errors (``FileExistsError`` for a folder that must not be overwritten,
    ``RuntimeError`` for a missing speech engine) propagate to the caller.

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
    print(f"done in {time.time() - start:.1f} s")


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description="Build the built-in synthetic corpora.")
    add_arguments(_parser)
    try:
        run(_parser.parse_args())
    except (FileExistsError, FileNotFoundError, RuntimeError, ValueError) as _err:
        raise SystemExit(f"error: {_err}") from _err
