"""WER of a scored test set by group of utterances: per accent, gender or
speaker of a Common Voice TSV, or per voice and recording condition of the
built-in out-of-distribution set (its ``conditions.tsv``).

The per-utterance errors come from the ``wer_<set>[_<decoding>].txt`` files
that the recipes' test stage writes (SpeechBrain's ``ErrorRateStats``
format); the groups from a TSV with one row per clip, keyed by the clip's
file name without extension (the utterance id of the Common Voice CSVs).
"""

import csv
import os
import re
from collections import defaultdict

__all__ = ["read_wer_file", "tsv_groups", "condition_labels", "group_wer",
           "present_columns", "markdown_table"]

_UTTERANCE = re.compile(r"^(\S+), %WER [\d.]+ \[ (\d+) / (\d+),")


def read_wer_file(path):
    """Per-utterance errors and reference words of an ``ErrorRateStats`` file.

    Arguments
    ---------
    path : str
        A ``wer_*.txt`` file of a recipe run.

    Returns
    -------
    dict
        Utterance id -> ``(errors, words)``.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "wer.txt")
    >>> _ = open(path, "w").write("%WER 50.00 [ 2 / 4, 0 ins, 1 del, 1 sub ]\\n"
    ...     "utt_a, %WER 50.00 [ 2 / 4, 0 ins, 1 del, 1 sub ]\\nA ; B\\n")
    >>> read_wer_file(path)
    {'utt_a': (2, 4)}
    """
    counts = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            found = _UTTERANCE.match(line)
            if found:
                counts[found.group(1)] = (int(found.group(2)), int(found.group(3)))
    if not counts:
        raise ValueError(f"{path}: no per-utterance lines (not an ErrorRateStats "
                         "file written by a recipe's test stage?).")
    return counts


def condition_labels(condition):
    """Labels of one ``condition`` field of the built-in ``conditions.tsv``:
    ``clean`` when only the level changed, else ``perturbed`` and one label
    per condition (``band=telephone``, ``band=lowpass4k``, ``reverb``,
    ``noise``, ``speed``).

    Arguments
    ---------
    condition : str
        E.g. ``"band=telephone noise=brown@29dB gain=-4dB"``.

    Returns
    -------
    list of str

    Example
    -------
    >>> condition_labels("band=telephone noise=brown@29dB gain=-4dB")
    ['perturbed', 'band=telephone', 'noise']
    >>> condition_labels("gain=-3dB")
    ['clean']
    """
    labels = []
    for part in condition.split():
        name, _, value = part.partition("=")
        if name == "band":
            labels.append(part)
        elif name in ("noise", "speed"):
            labels.append(name)
        elif name == "rt60":
            labels.append("reverb")
    return ["perturbed"] + labels if labels else ["clean"]


def tsv_groups(tsv_path, columns):
    """Each clip's group labels, from columns of a TSV.

    A ``voice`` column (the built-in set's speaker profile,
    ``engine:voice:pitch:...``) is cut to ``engine:voice``; a ``condition``
    column is split by `condition_labels`; other columns are used as they
    are (an empty value is ``(none)``).

    Arguments
    ---------
    tsv_path : str
        A TSV with a ``path`` column (the clip's file name).
    columns : list of str
        The columns to group by.

    Returns
    -------
    dict
        Utterance id (the clip's name without extension) -> list of
        ``"column: label"``.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "c.tsv")
    >>> _ = open(path, "w").write("path\\tvoice\\tcondition\\n"
    ...     "a.mp3\\tflite:awb:p1:r1\\tgain=-3dB\\n")
    >>> tsv_groups(path, ["voice", "condition"])
    {'a': ['voice: flite:awb', 'condition: clean']}
    """
    groups = {}
    with open(tsv_path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in ["path", *columns] if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{tsv_path}: no column {', '.join(missing)}; it has "
                             f"{', '.join(reader.fieldnames or [])}.")
        for row in reader:
            labels = []
            for column in columns:
                value = row[column] or "(none)"
                if column == "voice":
                    labels.append("voice: " + ":".join(value.split(":")[:2]))
                elif column == "condition":
                    labels += [f"condition: {x}" for x in condition_labels(value)]
                else:
                    labels.append(f"{column}: {value}")
            groups[os.path.splitext(os.path.basename(row["path"]))[0]] = labels
    return groups


def group_wer(counts, groups):
    """WER per group (and ``all``) from per-utterance counts.

    Arguments
    ---------
    counts : dict
        Utterance id -> ``(errors, words)`` (`read_wer_file`).
    groups : dict
        Utterance id -> labels (`tsv_groups`); utterances without labels
        count in ``all`` only.

    Returns
    -------
    dict
        Label -> ``{"WER", "words", "utterances"}``, ``all`` first, then
        the labels in sorted order.

    Example
    -------
    >>> group_wer({"a": (1, 4), "b": (3, 4)}, {"a": ["x"], "b": ["x", "y"]})
    {'all': {'WER': 50.0, 'words': 8, 'utterances': 2}, 'x': {'WER': 50.0, 'words': 8, 'utterances': 2}, 'y': {'WER': 75.0, 'words': 4, 'utterances': 1}}
    """
    totals = defaultdict(lambda: [0, 0, 0])
    for utt, (errors, words) in counts.items():
        for label in ["all", *sorted(set(groups.get(utt, [])))]:
            totals[label][0] += errors
            totals[label][1] += words
            totals[label][2] += 1
    order = ["all"] + sorted(k for k in totals if k != "all")
    return {k: {"WER": round(100 * totals[k][0] / max(totals[k][1], 1), 2),
                "words": totals[k][1], "utterances": totals[k][2]} for k in order}


def present_columns(tsv_path, columns):
    """The ``columns`` that a TSV's header has, in the order given (e.g.
    ``accents`` in a recent Common Voice release, ``accent`` in an older
    one, neither in a TSV of ``client_id, path, sentence``).

    Arguments
    ---------
    tsv_path : str
        A tab-separated file with a header.
    columns : list of str
        The columns wanted.

    Returns
    -------
    list of str

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tsv")
    >>> _ = open(path, "w").write("client_id\\tpath\\tsentence\\tgender\\n")
    >>> present_columns(path, ["accents", "gender", "client_id"])
    ['gender', 'client_id']
    """
    with open(tsv_path, encoding="utf-8", newline="") as f:
        header = f.readline().rstrip("\r\n").split("\t")
    return [c for c in columns if c in header]


def markdown_table(by_decoding):
    """WER by group as a Markdown table, one WER column per decoding.

    Arguments
    ---------
    by_decoding : dict
        Decoding name -> `group_wer` result (the same groups in each).

    Returns
    -------
    str

    Example
    -------
    >>> print(markdown_table({"greedy": group_wer({"a": (1, 4)}, {"a": ["x"]})}), end="")
    | group | greedy WER | words | utterances |
    |---|---|---|---|
    | all | 25.00 | 4 | 1 |
    | x | 25.00 | 4 | 1 |
    """
    decodings = list(by_decoding)
    first = by_decoding[decodings[0]]
    lines = [f"| group | {' | '.join(f'{d} WER' for d in decodings)} | words | utterances |",
             "|---" * (len(decodings) + 3) + "|"]
    for label, stats in first.items():
        wers = " | ".join(f"{by_decoding[d][label]['WER']:.2f}" for d in decodings)
        lines.append(f"| {label} | {wers} | {stats['words']} | {stats['utterances']} |")
    return "\n".join(lines) + "\n"
