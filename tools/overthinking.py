#!/usr/bin/env python3
"""The overthinking report of a trained early-exit model: WER per exit on
the in-domain and out-of-distribution test sets, the share of utterances
for which an earlier exit is strictly better than the last, the WER the
oracle would gain, and a per-layer WER plot.

The same as ``speechbrain-ee overthinking``; see
`speechbrain_ee.analysis.overthinking`. Example::

    python tools/overthinking.py results/ssl_early_exit_ctc/1234
"""

import sys

from speechbrain_ee.cli import main

if __name__ == "__main__":
    sys.exit(main(["overthinking", *sys.argv[1:]]))
