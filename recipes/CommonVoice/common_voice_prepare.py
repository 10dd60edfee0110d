#!/usr/bin/env python3
"""Recipe entry point for the Common Voice data preparation.

The preparation itself lives in ``speechbrain_ee.dataio.common_voice_prepare``;
this file re-exports it, as SpeechBrain recipes expect a
``common_voice_prepare.py`` beside them, and gives it a command line.
Sentences are normalised to the LibriSpeech character set.

Example
-------
python recipes/CommonVoice/common_voice_prepare.py \\
    --data_folder /data/cv-corpus/en --save_folder results/cv \\
    --test_tsv_file /data/cv-corpus/en/test.tsv

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import logging
import sys

from speechbrain_ee.dataio.common_voice_prepare import prepare_common_voice
from speechbrain_ee.errors import run_command

__all__ = ["prepare_common_voice"]


def parse_args(argv=None):
    """Parses the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data_folder",
        required=True,
        help="Common Voice folder holding clips/",
    )
    parser.add_argument(
        "--save_folder",
        required=True,
        help="where <tsv stem>.csv files are written",
    )
    for name in ("train", "dev", "test"):
        parser.add_argument(
            f"--{name}_tsv_file",
            default=None,
            help=f"{name} TSV; with no TSV given, the train/dev/test.tsv "
            "of data_folder that exist are used",
        )
    return parser.parse_args(argv)


def main(argv=None):
    """Prepares the TSV files given on the command line; returns the exit
    status (errors in one line, see `speechbrain_ee.errors`)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def prepare():
        csvs = prepare_common_voice(
            args.data_folder,
            args.save_folder,
            train_tsv_file=args.train_tsv_file,
            dev_tsv_file=args.dev_tsv_file,
            test_tsv_file=args.test_tsv_file,
        )
        for csv_path in csvs.values():
            print(csv_path)

    return run_command("common_voice_prepare.py", prepare,
                       where=f"--save_folder {args.save_folder}")


if __name__ == "__main__":
    sys.exit(main())
