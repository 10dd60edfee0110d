#!/usr/bin/env python3
"""Uploads an exported model to the Hugging Face hub (token from HF_TOKEN;
``--dry-run`` lists the files and needs no network).

The same as ``speechbrain-ee push``; see `speechbrain_ee.inference.hub`.
Example::

    python tools/push_to_hub.py exported/conformer_early_exit \
        my-name/conformer-early-exit --dry-run
"""

import sys

from speechbrain_ee.cli import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))
