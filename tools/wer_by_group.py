#!/usr/bin/env python3
"""WER of a recipe run's test set by group: per voice and recording
condition of the built-in out-of-distribution set, or per accent, gender or
speaker of a real Common Voice TSV.

Reads the run's ``wer_<set>_<decoding>.txt`` (the test stage's per-utterance
file) and a TSV with a ``path`` column; prints a Markdown table (group, WER
per decoding, words, utterances) and writes it with ``--out``.

Examples::

    # the built-in cv-test by voice and condition (greedy and lexicon + LM)
    python tools/wer_by_group.py results/demo --set cv-test \\
        --tsv corpora/mini-commonvoice/conditions.tsv --columns voice condition
    # a real Common Voice test set by accent
    python tools/wer_by_group.py RUN --set cv-test --tsv CV/en/test.tsv --columns accents
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from speechbrain_ee.analysis.wer_groups import (  # noqa: E402
    group_wer,
    markdown_table,
    read_wer_file,
    tsv_groups,
)
from speechbrain_ee.errors import run_command  # noqa: E402


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a recipe run's output folder")
    parser.add_argument("--set", default="cv-test", help="test set name (default cv-test)")
    parser.add_argument("--decodings", nargs="+", default=["greedy", "lexicon"],
                        help="which wer_<set>_<decoding>.txt files (default greedy lexicon)")
    parser.add_argument("--tsv", required=True, help="TSV with a path column and the groups")
    parser.add_argument("--columns", nargs="+", required=True, help="TSV columns to group by")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    return parser.parse_args(argv)


def table(run, test_set, decodings, tsv, columns):
    """The Markdown table of WER by group, one column per decoding.

    Arguments
    ---------
    run : str
        The run's folder.
    test_set : str
        Its test set name.
    decodings : list of str
        Decodings scored (file suffixes).
    tsv : str
        TSV of groups.
    columns : list of str
        Its columns to group by.

    Returns
    -------
    str
    """
    groups = tsv_groups(tsv, columns)
    by_decoding = {}
    for decoding in decodings:
        path = os.path.join(run, f"wer_{test_set}_{decoding}.txt")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: --decodings takes the suffixes "
                                    f"of {run}'s wer_{test_set}_*.txt files.")
        by_decoding[decoding] = group_wer(read_wer_file(path), groups)
    return markdown_table(by_decoding)


def main(argv=None):
    """Prints (and writes) the table."""
    args = parse_args(argv)

    def run():
        text = table(args.run, args.set, args.decodings, args.tsv, args.columns)
        print(text, end="")
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)

    return run_command("wer_by_group", run)


if __name__ == "__main__":
    sys.exit(main())
