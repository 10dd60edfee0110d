"""Data preparation for unlabelled speech in Libri-Light's layout: one CSV
manifest for self-supervised pretraining.

Expected layout (Libri-Light's ``small``/``medium``/``large`` splits, or the
built-in ``mini-librilight``)::

    <data_folder>/<split>/<speaker>/<book>/<file>.flac
    <data_folder>/<split>/<speaker>/<book>/<file>.json   (optional)

The CSV has the columns ``ID, duration, wav, spk_id``, no transcript.
Libri-Light's own files run to many minutes: cut them first with its
``data_preparation/cut_by_vad.py``, or set ``max_duration`` to leave long
files out (they are counted in the log).

Authors
-------
* speechbrain-ee contributors 2026
"""

import collections
import json
import logging
from pathlib import Path

from speechbrain_ee.dataio.librispeech_prepare import (
    check_data_folder,
    check_splits,
    checked_duration,
    log_skipped,
    walk_files,
    write_csv,
)

logger = logging.getLogger(__name__)

UNLABELLED_COLUMNS = ("ID", "duration", "wav", "spk_id")
LIBRILIGHT_LAYOUT = (
    "split folders such as small/, each holding <speaker>/<book>/<file>.flac "
    "(the built-in pool: `speechbrain-ee corpus --out corpora --only librilight`)"
)


def file_duration(path, skipped):
    """Seconds of an audio file: its Libri-Light ``.json`` ``duration``
    when there is one (no audio is read), else the audio's."""
    meta = Path(path).with_suffix(".json")
    if meta.is_file():
        try:
            return float(json.loads(meta.read_text(encoding="utf-8"))["duration"])
        except (ValueError, KeyError, TypeError):
            pass  # Libri-Light's own JSON has no duration: read the audio
    return checked_duration(path, skipped)


def prepare_librilight(data_folder, save_csv, splits=("small",), max_duration=None):
    """Writes the manifest of every ``.flac`` of ``splits``.

    Arguments
    ---------
    data_folder : str or Path
        The folder holding the split folders.
    save_csv : str or Path
        The CSV to write (its folder is created).
    splits : tuple of str
        Split folders to include.
    max_duration : float or None
        Files longer than this many seconds are left out.

    Returns
    -------
    int
        Files written.

    Example
    -------
    >>> import tempfile, numpy, soundfile
    >>> root = Path(tempfile.mkdtemp())
    >>> book = root / "small" / "100" / "book_a"
    >>> book.mkdir(parents=True)
    >>> soundfile.write(book / "book_a_0000.flac", numpy.zeros(8000), 16000)
    >>> prepare_librilight(root, root / "unlabelled.csv")
    1
    >>> print((root / "unlabelled.csv").read_text().splitlines()[1].split(",")[::3])
    ['100-book_a-book_a_0000', '100']
    """
    data_folder = check_data_folder(data_folder, LIBRILIGHT_LAYOUT)
    check_splits(data_folder, splits)
    rows, skipped = [], collections.Counter()
    for split in splits:
        for path in sorted(walk_files(data_folder / split, ".flac")):
            duration = file_duration(path, skipped)
            if duration is None:
                continue
            if max_duration is not None and duration > max_duration:
                skipped[f"longer than {max_duration} s"] += 1
                continue
            speaker, book = path.parent.parent.name, path.parent.name
            rows.append({"ID": f"{speaker}-{book}-{path.stem}", "duration": duration,
                         "wav": str(path), "spk_id": speaker})
    log_skipped(", ".join(splits), skipped)
    Path(save_csv).parent.mkdir(parents=True, exist_ok=True)
    write_csv(rows, save_csv, columns=UNLABELLED_COLUMNS)
    return len(rows)
