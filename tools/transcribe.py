#!/usr/bin/env python3
"""Transcribes audio files, folders or list files with an exported model.

The same as ``speechbrain-ee transcribe``; see
`speechbrain_ee.inference.transcribe`. Example::

    python tools/transcribe.py my_audio.flac --model exported/conformer_ctc
"""

import sys

from speechbrain_ee.cli import main

if __name__ == "__main__":
    sys.exit(main(["transcribe", *sys.argv[1:]]))
