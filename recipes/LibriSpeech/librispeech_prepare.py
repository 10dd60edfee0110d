#!/usr/bin/env python3
"""Recipe entry point for the LibriSpeech data preparation.

The preparation itself lives in ``speechbrain_ee.dataio.librispeech_prepare``;
this file re-exports it, as SpeechBrain recipes expect a
``librispeech_prepare.py`` beside them, and gives it a command line.

Example
-------
python recipes/LibriSpeech/librispeech_prepare.py \\
    --data_folder /data/LibriSpeech --save_folder results/data \\
    --splits train-clean-100 dev-clean test-clean

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import logging
import sys

from speechbrain_ee.dataio.librispeech_prepare import prepare_librispeech
from speechbrain_ee.errors import run_command

__all__ = ["prepare_librispeech"]


def parse_args(argv=None):
    """Parses the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data_folder",
        required=True,
        help="LibriSpeech folder holding the split folders",
    )
    parser.add_argument(
        "--save_folder",
        required=True,
        help="where <split>.csv files are written",
    )
    parser.add_argument(
        "--splits",
        nargs="+",
        required=True,
        help="split folders, e.g. train-clean-100 dev-clean",
    )
    parser.add_argument(
        "--select_n_sentences",
        type=int,
        default=None,
        help="keep only the first N utterances of each split",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Prepares the splits given on the command line; returns the exit
    status (errors in one line, see `speechbrain_ee.errors`)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def prepare():
        csvs = prepare_librispeech(
            args.data_folder,
            args.save_folder,
            tr_splits=[s for s in args.splits if s.startswith("train")],
            dev_splits=[s for s in args.splits if s.startswith("dev")],
            te_splits=[
                s for s in args.splits if not s.startswith(("train", "dev"))
            ],
            select_n_sentences=args.select_n_sentences,
        )
        for csv_path in csvs.values():
            print(csv_path)

    return run_command("librispeech_prepare.py", prepare,
                       where=f"--save_folder {args.save_folder}")


if __name__ == "__main__":
    sys.exit(main())
