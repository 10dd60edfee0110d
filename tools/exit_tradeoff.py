#!/usr/bin/env python3
"""WER against compute for a trained early-exit model (every exit strategy,
the oracle bound, overthinking, measured speed-ups).

The same as ``speechbrain-ee exit-tradeoff``; see
`speechbrain_ee.analysis.tradeoff`. Example::

    python tools/exit_tradeoff.py results/conformer_early_exit_ctc/1234
"""

import sys

from speechbrain_ee.cli import main

if __name__ == "__main__":
    sys.exit(main(["exit-tradeoff", *sys.argv[1:]]))
