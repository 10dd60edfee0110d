"""Data preparation for Common Voice (and data in its layout).

Expected layout (as extracted from commonvoice.mozilla.org)::

    <data_folder>/train.tsv, dev.tsv, test.tsv, ...
    <data_folder>/clips/<path>          (MP3; <path> from the TSV)

The TSVs are tab-separated with a header holding at least ``client_id``,
``path`` and ``sentence``; the other columns of a real release (``up_votes``,
``down_votes``, ``age``, ``gender``, ``accents`` or ``accent``, ``locale``,
``segment``, ...) are read and left to the analysis (per accent, gender or
speaker WER: `speechbrain_ee.analysis.wer_groups`). Each prepared TSV gives
``<save_folder>/<stem>.csv`` with the columns ``ID, duration, wav, spk_id,
wrd``, where ``wrd`` is the sentence normalised to the LibriSpeech character
set (``normalize_text``), so that a LibriSpeech model can be scored on it.

What is left out is counted per reason, logged and written to
``<save_folder>/prepare_common_voice_skipped.json``: a clip that is missing
(or, with ``missing_audio="error"``, a one-line error naming it), unreadable
or truncated, a sentence empty after normalisation or holding characters
that cannot be mapped to the LibriSpeech set (`unmappable_characters`: its
reference would lose words). A TSV of which nothing is usable is an error.

Speakers: Common Voice's ``train.tsv``, ``dev.tsv`` and ``test.tsv`` hold
disjoint ``client_id`` sets, and a model adapted on one and scored on
another relies on it. Preparing TSVs that share speakers logs a warning
naming them (`shared_speakers`; ``validated.tsv`` and ``other.tsv`` overlap
the others by design and are not compared); the Common Voice recipe refuses
to fine-tune on speakers of its test set.

Authors
-------
* speechbrain-ee contributors 2026
"""

import collections
import csv
import io
import json
import logging
import os
from pathlib import Path, PurePath

from speechbrain_ee.dataio.librispeech_prepare import (
    checked_duration,
    check_data_folder,
    is_prepared,
    keep_unknown_csvs,
    log_skipped,
    read_utf8,
    save_options,
    write_csv,
)
from speechbrain_ee.dataio.text import normalize_text, unmappable_characters

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("client_id", "path", "sentence")
DEFAULT_TSV_FILES = ("train.tsv", "dev.tsv", "test.tsv")
COMMON_VOICE_LAYOUT = "clips/*.mp3 and TSV files such as test.tsv"
OPTIONS_FILE = "prepare_common_voice.json"
SKIPPED_FILE = "prepare_common_voice_skipped.json"
# TSVs of a release that hold the clips of the others (not split by speaker)
POOLED_TSV_FILES = ("validated.tsv", "other.tsv", "invalidated.tsv")
MISSING_AUDIO = ("skip", "error")


def prepare_common_voice(
    data_folder,
    save_folder,
    train_tsv_file=None,
    dev_tsv_file=None,
    test_tsv_file=None,
    skip_prep=False,
    missing_audio="skip",
):
    """Writes ``<save_folder>/<tsv stem>.csv`` for each TSV file.

    When no TSV file is given, the ``train.tsv``, ``dev.tsv`` and
    ``test.tsv`` of ``data_folder`` that exist are prepared; when any is
    given, only the given ones are. Preparation is skipped when all the CSVs
    and the option file ``prepare_common_voice.json`` exist and the options
    match; a CSV that no earlier preparation wrote is kept as
    ``<name>.csv.bak`` (`keep_unknown_csvs`). Clips that cannot be used
    (missing, unreadable or truncated audio, a ``path`` outside ``clips/``,
    a sentence empty after normalisation) are logged by name, skipped and
    counted. A TSV that is not UTF-8 is an error naming its line.

    Arguments
    ---------
    data_folder : str or Path
        The Common Voice language folder, holding ``clips/``.
    save_folder : str or Path
        Where the CSVs go; created if needed.
    train_tsv_file, dev_tsv_file, test_tsv_file : str or Path, optional
        TSV files to prepare, e.g. ``<data_folder>/test.tsv``.
    skip_prep : bool
        If True, do nothing and return the CSV paths.
    missing_audio : str
        ``"skip"``: a clip the TSV names but ``clips/`` lacks is logged,
        counted and left out; ``"error"``: a ``FileNotFoundError`` naming it
        (a test set scored without some of its clips is another test set).

    Returns
    -------
    dict
        CSV name (TSV stem) -> path of its CSV.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "clips").mkdir()
    >>> soundfile.write(root / "clips" / "c1.mp3", numpy.zeros(16000), 16000)
    >>> _ = (root / "test.tsv").write_text(
    ...     "client_id\\tpath\\tsentence\\nspk1\\tc1.mp3\\tIt's 5 o'clock.\\n"
    ... )
    >>> tsv = root / "test.tsv"
    >>> csvs = prepare_common_voice(root, root / "out", test_tsv_file=tsv)
    >>> print(csvs["test"].read_text().splitlines()[1])  # doctest: +ELLIPSIS
    c1,1.0,/.../clips/c1.mp3,spk1,IT'S FIVE O'CLOCK
    """
    save_folder = Path(save_folder)
    if missing_audio not in MISSING_AUDIO:
        raise ValueError(f"missing_audio={missing_audio!r}: expected one of "
                         f"{MISSING_AUDIO}.")
    given = [f for f in (train_tsv_file, dev_tsv_file, test_tsv_file) if f]
    if skip_prep:
        names = [Path(f).stem for f in given or DEFAULT_TSV_FILES]
        return {name: save_folder / f"{name}.csv" for name in names}
    data_folder = check_data_folder(data_folder, COMMON_VOICE_LAYOUT)
    tsv_files = check_tsv_files(data_folder, given)
    csv_paths = {name: save_folder / f"{name}.csv" for name in tsv_files}
    options = {
        "data_folder": str(data_folder),
        "tsv_files": {name: str(path) for name, path in tsv_files.items()},
    }
    if missing_audio != "skip":
        options["missing_audio"] = missing_audio
    options_path = save_folder / OPTIONS_FILE
    if is_prepared(csv_paths.values(), options_path, options):
        logger.info(
            "Common Voice already prepared in %s, skipping", save_folder
        )
        return csv_paths
    save_folder.mkdir(parents=True, exist_ok=True)
    keep_unknown_csvs(csv_paths.values(), options_path)
    for (one, other), speakers in shared_speakers(tsv_files.values()).items():
        logger.warning(
            "%s and %s share %d speakers (client_id), e.g. %s: a model adapted "
            "on one and scored on the other has heard them", one, other,
            len(speakers), sorted(speakers)[0][:16])
    report = {}
    for name, tsv_file in tsv_files.items():
        skipped = collections.Counter()
        rows = common_voice_rows(tsv_file, data_folder / "clips", skipped,
                                 missing_audio=missing_audio)
        write_csv(rows, csv_paths[name])
        log_skipped(str(tsv_file), skipped)
        report[name] = {"tsv": str(tsv_file), "kept": len(rows),
                        "skipped": dict(skipped)}
    with open(save_folder / SKIPPED_FILE, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    save_options(options_path, options)
    return csv_paths


def read_skipped(save_folder):
    """What the last preparation in ``save_folder`` left out, per CSV name:
    ``{"tsv", "kept", "skipped": {reason: count}}`` (empty when unknown).

    Arguments
    ---------
    save_folder : str or Path
        The folder `prepare_common_voice` wrote to.

    Returns
    -------
    dict

    Example
    -------
    >>> import tempfile
    >>> read_skipped(tempfile.mkdtemp())
    {}
    """
    path = Path(save_folder) / SKIPPED_FILE
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shared_speakers(tsv_files):
    """The speakers (``client_id``) that two TSVs of a set share; the TSVs
    that pool the others' clips (``validated.tsv``, ``other.tsv``,
    ``invalidated.tsv``) are left out of the comparison.

    Arguments
    ---------
    tsv_files : iterable of str or Path
        Common Voice TSVs.

    Returns
    -------
    dict
        ``(file name, file name)`` -> set of shared client ids, for the
        pairs that share any.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name, spk in (("train", "a"), ("test", "a"), ("dev", "b")):
    ...     _ = (root / f"{name}.tsv").write_text(
    ...         f"client_id\\tpath\\tsentence\\n{spk}\\t{name}.mp3\\thi\\n")
    >>> shared_speakers(root / f"{n}.tsv" for n in ("train", "dev", "test"))
    {('train.tsv', 'test.tsv'): {'a'}}
    """
    speakers = {}
    for tsv_file in tsv_files:
        if Path(tsv_file).name in POOLED_TSV_FILES:
            continue
        speakers[Path(tsv_file).name] = {row["client_id"] for row in read_tsv(tsv_file)}
    names = list(speakers)
    shared = {}
    for i, one in enumerate(names):
        for other in names[i + 1:]:
            both = speakers[one] & speakers[other]
            if both:
                shared[one, other] = both
    return shared


def hours_subset(csv_path, hours, out_path):
    """The first ``hours`` hours of a prepared CSV (in its order, the TSV's),
    written to ``out_path``: a low-resource training set.

    Arguments
    ---------
    csv_path : str or Path
        A CSV of `prepare_common_voice`.
    hours : float
        Hours of audio to take (all of it when the CSV holds less).
    out_path : str or Path
        The subset's CSV.

    Returns
    -------
    tuple
        ``(utterances, hours)`` taken.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_csv([{"ID": f"u{i}", "duration": 600.0, "wav": "x", "spk_id": "s",
    ...             "wrd": "HI"} for i in range(5)], folder / "train.csv")
    >>> hours_subset(folder / "train.csv", 0.25, folder / "sub.csv")
    (2, 0.3333333333333333)
    """
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if hours is None or hours <= 0:
        raise ValueError(f"hours={hours}: give the hours of training audio to "
                         "take (> 0).")
    taken, seconds = [], 0.0
    for row in rows:
        if seconds >= hours * 3600:
            break
        taken.append(row)
        seconds += float(row["duration"])
    if not taken:
        raise ValueError(f"{csv_path} holds no utterance to train on.")
    write_csv(taken, out_path)
    return len(taken), seconds / 3600


def check_tsv_files(data_folder, tsv_files):
    """Resolves the TSV files to prepare, with clear errors.

    Arguments
    ---------
    data_folder : Path
        The Common Voice folder.
    tsv_files : list of str or Path
        The TSV files given by the user; if empty, the default ``train.tsv``,
        ``dev.tsv`` and ``test.tsv`` of ``data_folder`` that exist.

    Returns
    -------
    dict
        CSV name (TSV stem) -> absolute TSV path.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "test.tsv").touch()
    >>> list(check_tsv_files(root, []))
    ['test']
    >>> check_tsv_files(root, [root / "dev.tsv"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: TSV file .../dev.tsv not found
    """
    if tsv_files:
        paths = [Path(f).absolute() for f in tsv_files]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"TSV file {path} not found")
    else:
        paths = [data_folder / f for f in DEFAULT_TSV_FILES]
        paths = [path for path in paths if path.is_file()]
        if not paths:
            raise FileNotFoundError(
                f"None of {', '.join(DEFAULT_TSV_FILES)} found in "
                f"{data_folder}; pass train_tsv_file, dev_tsv_file or "
                "test_tsv_file"
            )
    named = {}
    for path in paths:
        if path.stem in named and named[path.stem] != path:
            raise ValueError(
                f"TSV files {named[path.stem]} and {path} would both be "
                f"written to {path.stem}.csv"
            )
        named[path.stem] = path
    return named


def read_tsv(tsv_file):
    """Reads a Common Voice TSV (quotes are kept as text).

    Arguments
    ---------
    tsv_file : str or Path
        Tab-separated file whose header holds ``REQUIRED_COLUMNS``.

    Returns
    -------
    list of dict
        One dict per line, keyed by the header.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "test.tsv"
    >>> _ = path.write_text('client_id\\tpath\\tsentence\\n')
    >>> with open(path, "a") as f:
    ...     _ = f.write('c\\ta.mp3\\t"Hi"\\n')
    >>> read_tsv(path)
    [{'client_id': 'c', 'path': 'a.mp3', 'sentence': '"Hi"'}]
    >>> _ = path.write_text("client_id\\tsentence\\n")
    >>> read_tsv(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Column 'path' missing from .../test.tsv (columns: ...)
    """
    text = io.StringIO(read_utf8(tsv_file), newline="")
    reader = csv.DictReader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
    columns = reader.fieldnames or []
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            raise ValueError(
                f"Column '{column}' missing from {tsv_file} "
                f"(columns: {', '.join(columns) or 'none'})"
            )
    return list(reader)


def common_voice_rows(tsv_file, clips_folder, skipped=None, missing_audio="skip"):
    """Manifest rows of one Common Voice TSV, in the TSV's order.

    Arguments
    ---------
    tsv_file : str or Path
        The TSV file.
    clips_folder : Path
        Folder of the audio clips named in the ``path`` column.
    skipped : collections.Counter, optional
        Incremented per reason for each clip skipped.
    missing_audio : str
        ``"skip"`` a missing clip (logged, counted) or ``"error"``.

    Returns
    -------
    list of dict
        One dict with the ``CSV_COLUMNS`` keys per usable clip.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> root = Path(tempfile.mkdtemp())
    >>> soundfile.write(root / "a.mp3", numpy.zeros(8000), 16000)
    >>> _ = (root / "t.tsv").write_text(
    ...     "client_id\\tpath\\tsentence\\n"
    ...     "c\\ta.mp3\\tHi!\\n"
    ...     "c\\tb.mp3\\tYo\\n"
    ...     "c\\t../../etc/x.mp3\\tOut\\n"
    ... )
    >>> skipped = collections.Counter()
    >>> rows = common_voice_rows(root / "t.tsv", root, skipped)
    >>> [row["wrd"] for row in rows]
    ['HI']
    >>> dict(skipped)
    {'missing audio': 1, 'path outside clips/': 1}
    >>> common_voice_rows(root / "t.tsv", root, missing_audio="error")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: .../t.tsv:3: clip .../b.mp3 not found; ...
    """
    skipped = collections.Counter() if skipped is None else skipped
    rows, seen = [], set()
    entries = read_tsv(tsv_file)
    for line, entry in enumerate(entries, start=2):
        where = f"{tsv_file}:{line}"
        if not entry["path"] or entry["sentence"] is None:
            logger.warning("Skipping %s: no path or too few columns", where)
            skipped["malformed line"] += 1
            continue
        if PurePath(entry["path"]).is_absolute() or ".." in PurePath(entry["path"]).parts:
            logger.warning("Skipping %s: path %s is outside clips/", where,
                           entry["path"])
            skipped["path outside clips/"] += 1
            continue
        clip = find_clip(clips_folder, entry["path"])
        clip_id = clip.stem
        if clip_id in seen:
            logger.warning("Skipping %s: clip %s listed twice", where, clip_id)
            skipped["duplicate clip"] += 1
            continue
        unmapped = unmappable_characters(entry["sentence"])
        if unmapped:
            logger.warning(
                "Skipping %s (%s): sentence %r has characters that cannot be "
                "mapped to the LibriSpeech set (%s)", where, clip_id,
                entry["sentence"], unmapped)
            skipped["unmappable characters"] += 1
            continue
        words = normalize_text(entry["sentence"])
        if not words:
            logger.warning(
                "Skipping %s (%s): sentence %r is empty after normalisation",
                where,
                clip_id,
                entry["sentence"],
            )
            skipped["empty sentence"] += 1
            continue
        if not clip.is_file() and missing_audio == "error":
            raise FileNotFoundError(
                f"{where}: clip {clip} not found; restore it, or leave missing clips "
                "out and count them (missing_audio='skip'; the Common Voice recipe's "
                "--missing_clips skip)")
        if not clip.is_file():
            logger.warning("Skipping %s: audio file %s not found", where, clip)
            skipped["missing audio"] += 1
            continue
        duration = checked_duration(clip, skipped)
        if duration is not None:
            seen.add(clip_id)
            rows.append(
                {
                    "ID": clip_id,
                    "duration": duration,
                    "wav": os.path.abspath(clip),
                    "spk_id": entry["client_id"],
                    "wrd": words,
                }
            )
    if entries and not rows:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        raise ValueError(
            f"{tsv_file}: none of its {len(entries)} clips is usable ({reasons}); "
            f"is {clips_folder} the clips/ folder of this TSV?")
    return rows


def find_clip(clips_folder, path):
    """Path of a clip; old Common Voice TSVs leave out the ``.mp3``.

    Arguments
    ---------
    clips_folder : Path
        The ``clips`` folder.
    path : str
        The TSV's ``path`` entry.

    Returns
    -------
    Path
        ``clips_folder / path``, or with ``.mp3`` added if only that exists.

    Example
    -------
    >>> find_clip(Path("clips"), "common_voice_en_1.mp3").name
    'common_voice_en_1.mp3'
    """
    clip = Path(clips_folder) / path
    with_mp3 = clip.with_name(clip.name + ".mp3")
    if not clip.is_file() and with_mp3.is_file():
        return with_mp3
    return clip
