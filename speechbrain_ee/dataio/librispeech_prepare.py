"""Data preparation for LibriSpeech: one CSV manifest per split.

Expected layout (as extracted from openslr.org/12)::

    <data_folder>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
    <data_folder>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac

Each ``<save_folder>/<split>.csv`` has the columns ``ID, duration, wav,
spk_id, wrd`` that SpeechBrain's LibriSpeech recipes read. The helpers for
the manifest (``checked_duration``, ``write_csv``, the option file checks) are
shared with the Common Voice preparation.

Authors
-------
* speechbrain-ee contributors 2026
"""

import collections
import csv
import json
import logging
import os
from pathlib import Path

from speechbrain_ee.dataio.audio import audio_duration

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("ID", "duration", "wav", "spk_id", "wrd")
LIBRISPEECH_SPLITS = (
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
)
AUDIO_EXTENSIONS = (".flac", ".wav")
LIBRISPEECH_LAYOUT = (
    "split folders such as dev-clean/, each holding "
    "<speaker>/<chapter>/<speaker>-<chapter>.trans.txt and "
    "<speaker>-<chapter>-<utterance>.flac"
)
OPTIONS_FILE = "prepare_librispeech.json"


def prepare_librispeech(
    data_folder,
    save_folder,
    tr_splits=(),
    dev_splits=(),
    te_splits=(),
    select_n_sentences=None,
    skip_prep=False,
):
    """Writes ``<save_folder>/<split>.csv`` for each requested split.

    Preparation is skipped when all the CSVs and the option file
    ``prepare_librispeech.json`` exist and the options match; otherwise the
    requested CSVs are (re)written. A CSV that no earlier preparation wrote
    (no option file beside it: e.g. one made by hand) is kept as
    ``<name>.csv.bak`` (see `keep_unknown_csvs`). Nothing else in
    ``save_folder`` is touched. Utterances that cannot be used (unreadable
    or truncated audio: see `checked_duration`; empty transcript, audio
    without transcript or transcript without audio) are logged by name,
    skipped and counted. A transcript file that is not UTF-8 is an error
    naming its line.

    Arguments
    ---------
    data_folder : str or Path
        The LibriSpeech folder, the one holding ``train-clean-100/`` etc.
    save_folder : str or Path
        Where the CSVs go; created if needed.
    tr_splits, dev_splits, te_splits : sequence of str
        Split folders to prepare, e.g. ``["train-clean-100"]``. Any folder of
        ``data_folder`` is accepted (e.g. ``train-clean-5`` of Mini
        LibriSpeech); the three lists only document the roles.
    select_n_sentences : int, optional
        Keep only the first N utterances (by ID) of each split.
    skip_prep : bool
        If True, do nothing and return the CSV paths.

    Returns
    -------
    dict
        Split name -> path of its CSV.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> root = Path(tempfile.mkdtemp())
    >>> chapter = root / "dev-clean" / "84" / "121123"
    >>> chapter.mkdir(parents=True)
    >>> audio = numpy.zeros(8000)
    >>> soundfile.write(chapter / "84-121123-0000.flac", audio, 16000)
    >>> trans = chapter / "84-121123.trans.txt"
    >>> _ = trans.write_text("84-121123-0000 GO\\n")
    >>> out = root / "out"
    >>> csvs = prepare_librispeech(root, out, dev_splits=["dev-clean"])
    >>> print(csvs["dev-clean"].read_text().splitlines()[1])
    ... # doctest: +ELLIPSIS
    84-121123-0000,0.5,/.../dev-clean/84/121123/84-121123-0000.flac,84,GO
    """
    splits = list(dict.fromkeys([*tr_splits, *dev_splits, *te_splits]))
    if not splits:
        raise ValueError(
            "No split requested: give tr_splits, dev_splits "
            "or te_splits, e.g. dev_splits=['dev-clean']"
        )
    save_folder = Path(save_folder)
    csv_paths = {split: save_folder / f"{split}.csv" for split in splits}
    if skip_prep:
        return csv_paths
    data_folder = check_data_folder(data_folder, LIBRISPEECH_LAYOUT)
    check_splits(data_folder, splits)
    options = {
        "data_folder": str(data_folder),
        "splits": splits,
        "select_n_sentences": select_n_sentences,
    }
    options_path = save_folder / OPTIONS_FILE
    if is_prepared(csv_paths.values(), options_path, options):
        logger.info(
            "LibriSpeech already prepared in %s, skipping", save_folder
        )
        return csv_paths
    save_folder.mkdir(parents=True, exist_ok=True)
    keep_unknown_csvs(csv_paths.values(), options_path)
    for split, csv_path in csv_paths.items():
        skipped = collections.Counter()
        rows = librispeech_split_rows(
            data_folder / split, select_n_sentences, skipped
        )
        if not rows:
            raise ValueError(
                f"Split {data_folder / split} holds no usable utterance "
                f"({dict(skipped) or 'no *.trans.txt found'}): expected "
                "<speaker>/<chapter>/<speaker>-<chapter>.trans.txt and "
                "<speaker>-<chapter>-<utterance>.flac under it."
            )
        write_csv(rows, csv_path)
        log_skipped(split, skipped)
    save_options(options_path, options)
    return csv_paths


def librispeech_split_rows(
    split_folder, select_n_sentences=None, skipped=None
):
    """Manifest rows of one LibriSpeech split, sorted by utterance ID.

    Arguments
    ---------
    split_folder : Path
        E.g. ``LibriSpeech/dev-clean``.
    select_n_sentences : int, optional
        Stop after this many usable utterances.
    skipped : collections.Counter, optional
        Incremented per reason for each utterance skipped.

    Returns
    -------
    list of dict
        One dict with the ``CSV_COLUMNS`` keys per utterance.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> chapter = Path(tempfile.mkdtemp()) / "1" / "2"
    >>> chapter.mkdir(parents=True)
    >>> soundfile.write(chapter / "1-2-0000.flac", numpy.zeros(1600), 16000)
    >>> trans = chapter / "1-2.trans.txt"
    >>> _ = trans.write_text("1-2-0000 HI\\n1-2-0001 YO\\n")
    >>> skipped = collections.Counter()
    >>> rows = librispeech_split_rows(chapter.parents[1], None, skipped)
    >>> [row["ID"] for row in rows]
    ['1-2-0000']
    >>> dict(skipped)
    {'transcript without audio': 1}
    """
    skipped = collections.Counter() if skipped is None else skipped
    transcripts = read_transcripts(split_folder, skipped)
    audio = find_audio(split_folder)
    for utt_id in sorted(audio.keys() - transcripts.keys()):
        logger.warning("Skipping %s: no transcript for it", audio[utt_id])
        skipped["audio without transcript"] += 1
    rows = []
    for utt_id in sorted(transcripts):
        if select_n_sentences is not None and len(rows) >= select_n_sentences:
            break
        if utt_id not in audio:
            logger.warning(
                "Skipping %s: listed in a trans.txt of %s but no audio file",
                utt_id,
                split_folder,
            )
            skipped["transcript without audio"] += 1
            continue
        duration = checked_duration(audio[utt_id], skipped)
        if duration is not None:
            rows.append(
                {
                    "ID": utt_id,
                    "duration": duration,
                    "wav": os.path.abspath(audio[utt_id]),
                    "spk_id": utt_id.split("-")[0],
                    "wrd": transcripts[utt_id],
                }
            )
    return rows


def read_transcripts(split_folder, skipped):
    """Reads every ``*.trans.txt`` under a folder.

    Arguments
    ---------
    split_folder : Path
        Folder searched recursively.
    skipped : collections.Counter
        Incremented for each empty transcript (which is left out).

    Returns
    -------
    dict
        Utterance ID -> transcript (whitespace collapsed).

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> trans = folder / "1-2.trans.txt"
    >>> _ = trans.write_text("1-2-0000 A  B\\n1-2-0001\\n")
    >>> skipped = collections.Counter()
    >>> read_transcripts(folder, skipped), dict(skipped)
    ({'1-2-0000': 'A B'}, {'empty transcript': 1})
    """
    transcripts = {}
    for trans_file in sorted(walk_files(split_folder, ".trans.txt")):
        for line in read_utf8(trans_file).splitlines():
            utt_id, _, text = line.strip().partition(" ")
            if not utt_id:
                continue
            text = " ".join(text.split())
            if not text:
                logger.warning(
                    "Skipping %s: empty transcript in %s",
                    utt_id,
                    trans_file,
                )
                skipped["empty transcript"] += 1
                continue
            transcripts[utt_id] = text
    return transcripts


def read_utf8(path):
    """The text of a UTF-8 file; other bytes are an error naming the file
    and line (a transcript or TSV saved in another encoding).

    Arguments
    ---------
    path : str or Path
        The file.

    Returns
    -------
    str

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "1-2.trans.txt"
    >>> _ = path.write_bytes("1-2-0000 CAFÉ\\n".encode("utf-8"))
    >>> read_utf8(path)
    '1-2-0000 CAFÉ\\n'
    >>> _ = path.write_bytes("1-2-0000 GO\\n1-2-0001 CAFÉ\\n".encode("latin-1"))
    >>> read_utf8(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../1-2.trans.txt, line 2: not UTF-8 (byte 0xc9); save the file as UTF-8 ...
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValueError(
            f"{path}, line {line}: not UTF-8 (byte 0x{data[err.start]:02x}); save "
            "the file as UTF-8 (e.g. iconv -f latin1 -t utf-8) and prepare again."
        ) from None


def find_audio(split_folder):
    """Finds the audio files of a split (``.flac`` preferred over ``.wav``).

    Arguments
    ---------
    split_folder : Path
        Folder searched recursively.

    Returns
    -------
    dict
        File stem (utterance ID) -> path.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "1-2-0000.wav").touch()
    >>> (folder / "1-2-0000.flac").touch()
    >>> find_audio(folder)["1-2-0000"].name
    '1-2-0000.flac'
    """
    audio = {}
    for extension in reversed(AUDIO_EXTENSIONS):
        for path in walk_files(split_folder, extension):
            audio[path.name[: -len(extension)]] = path
    return audio


def walk_files(folder, suffix):
    """Files under ``folder`` whose name ends with ``suffix``, following
    symbolic links (a split assembled from links to speaker folders works).

    Arguments
    ---------
    folder : str or Path
        Folder searched recursively.
    suffix : str
        E.g. ``".flac"``.

    Returns
    -------
    list of Path

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "a").mkdir()
    >>> (folder / "a" / "x.flac").touch()
    >>> (folder / "link").symlink_to(folder / "a")
    >>> sorted(p.relative_to(folder).as_posix()
    ...        for p in walk_files(folder, ".flac"))
    ['a/x.flac', 'link/x.flac']
    """
    return [
        Path(root) / name
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
        if name.endswith(suffix)
    ]


def checked_duration(path, skipped=None):
    """`audio_duration`, with an unreadable, truncated (its last frames do
    not decode) or empty file logged by name and counted instead of raised.

    Arguments
    ---------
    path : str or Path
        Audio file readable by soundfile (FLAC, WAV, MP3, ...).
    skipped : collections.Counter, optional
        ``skipped["unreadable audio"]`` is incremented on failure.

    Returns
    -------
    float or None
        Seconds, or None if the file cannot be read or is empty.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> path = Path(tempfile.mkdtemp()) / "a.flac"
    >>> soundfile.write(path, numpy.zeros(4000), 16000)
    >>> checked_duration(path)
    0.25
    >>> _ = path.write_bytes(b"not audio")
    >>> skipped = collections.Counter()
    >>> checked_duration(path, skipped) is None, dict(skipped)
    (True, {'unreadable audio': 1})
    """
    duration = audio_duration(path)
    if duration is None:
        logger.warning("Skipping unreadable, truncated or empty audio file %s", path)
        if skipped is not None:
            skipped["unreadable audio"] += 1
    return duration

def keep_unknown_csvs(csv_paths, options_path):
    """Renames the CSVs that no earlier preparation wrote (there is no
    option file beside them: e.g. a CSV made by hand) to
    ``<name>.csv.bak`` (``.bak1``, ... when taken), with a warning, before
    the preparation writes its own.

    Arguments
    ---------
    csv_paths : iterable of Path
        The CSVs the preparation is about to write.
    options_path : Path
        Its option file (see `save_options`).

    Returns
    -------
    list of Path
        The backups made.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "dev-clean.csv").write_text("ID,mine\\n")
    >>> [p.name for p in keep_unknown_csvs([folder / "dev-clean.csv"], folder / "opt.json")]
    ['dev-clean.csv.bak']
    >>> save_options(folder / "opt.json", {})
    >>> _ = (folder / "dev-clean.csv").write_text("ID,prepared\\n")
    >>> keep_unknown_csvs([folder / "dev-clean.csv"], folder / "opt.json")
    []
    """
    if Path(options_path).is_file():
        return []
    backups = []
    for csv_path in map(Path, csv_paths):
        if not csv_path.is_file():
            continue
        backup, n = csv_path.with_name(csv_path.name + ".bak"), 0
        while backup.exists():
            n += 1
            backup = csv_path.with_name(f"{csv_path.name}.bak{n}")
        os.replace(csv_path, backup)
        logger.warning("%s was not written by a preparation (no %s): kept as %s",
                       csv_path, Path(options_path).name, backup)
        backups.append(backup)
    return backups


def write_csv(rows, csv_path, columns=CSV_COLUMNS):
    """Writes manifest rows atomically (a partial file is never left).

    Arguments
    ---------
    rows : list of dict
        Dicts with the ``columns`` keys.
    csv_path : str or Path
        Output file; its folder must exist.
    columns : tuple of str
        The CSV's columns (default: ``CSV_COLUMNS``).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.csv"
    >>> write_csv([dict(ID="a", duration=1.5, wav="/a.flac", spk_id="s",
    ...                 wrd="HI")], path)
    >>> print(path.read_text().strip())
    ID,duration,wav,spk_id,wrd
    a,1.5,/a.flac,s,HI
    """
    csv_path = Path(csv_path)
    tmp_path = csv_path.with_name(csv_path.name + ".tmp")
    with open(tmp_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp_path, csv_path)
    logger.info("Wrote %d utterances to %s", len(rows), csv_path)


def log_skipped(name, skipped):
    """Logs how many utterances of a split were skipped, per reason.

    Arguments
    ---------
    name : str
        The split or file the counts belong to.
    skipped : collections.Counter
        Reason -> count.

    Example
    -------
    >>> log_skipped("dev-clean", collections.Counter({"empty transcript": 2}))
    """
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        logger.warning(
            "%s: skipped %d utterances (%s)",
            name,
            sum(skipped.values()),
            reasons,
        )


def check_data_folder(data_folder, layout):
    """Returns the absolute data folder or raises a clear error.

    Arguments
    ---------
    data_folder : str or Path
        The folder given by the user.
    layout : str
        What is expected inside it, for the error message.

    Returns
    -------
    Path
        The absolute folder.

    Example
    -------
    >>> check_data_folder("/no/such/folder", "<split>/")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: Data folder /no/such/folder not found; expected ...
    """
    data_folder = Path(data_folder).absolute()
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"Data folder {data_folder} not found; expected a folder holding "
            f"{layout}"
        )
    return data_folder


def check_splits(data_folder, splits):
    """Raises a clear error if a requested split folder is missing.

    Arguments
    ---------
    data_folder : Path
        The LibriSpeech folder.
    splits : list of str
        The requested split folders.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "dev-clean").mkdir()
    >>> check_splits(root, ["dev-clean", "test-clean"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: Split test-clean not found in ...; splits found: ...
    """
    missing = [s for s in splits if not (Path(data_folder) / s).is_dir()]
    if not missing:
        return
    found = sorted(p.name for p in Path(data_folder).iterdir() if p.is_dir())
    hint = ""
    if (Path(data_folder) / "LibriSpeech").is_dir():
        hint = f" (did you mean {Path(data_folder) / 'LibriSpeech'}?)"
    raise FileNotFoundError(
        f"Split {', '.join(missing)} not found in {data_folder}{hint}; "
        f"splits found: {', '.join(found) or 'none'}"
    )


def is_prepared(csv_paths, options_path, options):
    """Whether all outputs exist and were made with the same options.

    Arguments
    ---------
    csv_paths : iterable of Path
        The outputs.
    options_path : Path
        The JSON file saved by ``save_options`` after the last preparation.
    options : dict
        The options of this call (JSON serialisable).

    Returns
    -------
    bool
        True when the preparation can be skipped.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_options(folder / "opt.json", {"splits": ["dev-clean"]})
    >>> is_prepared([], folder / "opt.json", {"splits": ["dev-clean"]})
    True
    >>> is_prepared([], folder / "opt.json", {"splits": ["test-clean"]})
    False
    """
    if not all(Path(p).is_file() for p in csv_paths):
        return False
    try:
        with open(options_path, encoding="utf-8") as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return False
    # Round trip through JSON so that tuples compare equal to lists.
    return saved == json.loads(json.dumps(options))


def save_options(options_path, options):
    """Saves the options of a finished preparation as JSON.

    Arguments
    ---------
    options_path : Path
        Output file.
    options : dict
        JSON serialisable options.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "opt.json"
    >>> save_options(path, {"a": 1})
    >>> path.read_text()
    '{\\n  "a": 1\\n}\\n'
    """
    with open(options_path, "w", encoding="utf-8") as f:
        json.dump(options, f, indent=2)
        f.write("\n")
