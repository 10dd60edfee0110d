#!/usr/bin/env python3
"""Exports a trained run of the CTC recipe or of the joint CTC+attention
(transformer) recipe as a SpeechBrain pretrained model (hyperparams.yaml
with a pretrainer, checkpoints, tokenizer, model card, example audio) that
stock SpeechBrain's EncoderASR / EncoderDecoderASR load.

The same as ``speechbrain-ee export``; see
`speechbrain_ee.inference.export`. Example::

    python tools/export_pretrained.py results/conformer_early_exit_ctc/1234 \
        exported/conformer_early_exit
"""

import sys

from speechbrain_ee.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
