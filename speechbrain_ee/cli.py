"""The ``speechbrain-ee`` command line: one sub-command per tool.

Each sub-command lives in its own module, which provides
``add_arguments(parser)`` and ``run(args)``; this file only wires them.

Authors
-------
* speechbrain-ee contributors 2026
"""

import argparse
import importlib
import sys

from speechbrain_ee.errors import run_command

# name -> (module, one-line help)
COMMANDS = {
    "corpus": (
        "speechbrain_ee.dataio.corpus",
        "build the built-in corpora (mini-librispeech, mini-commonvoice)",
    ),
    "demo": (
        "speechbrain_ee.demo",
        "build the corpora, train the baseline CTC recipe, print WERs",
    ),
    "exit-tradeoff": (
        "speechbrain_ee.analysis.tradeoff",
        "sweep the exit strategies of a trained early-exit model: WER "
        "against compute, the oracle bound, measured speed-ups",
    ),
    "overthinking": (
        "speechbrain_ee.analysis.overthinking",
        "the overthinking report of a trained early-exit model: WER per "
        "exit in-domain and out of distribution, the share of utterances an "
        "earlier exit transcribes strictly better, the oracle's gain, a plot",
    ),
    "export": (
        "speechbrain_ee.inference.export",
        "export a trained CTC or joint CTC+attention run as a SpeechBrain "
        "pretrained model that stock EncoderASR / EncoderDecoderASR load "
        "(hyperparams.yaml, checkpoints, tokenizer, model card, example)",
    ),
    "transcribe": (
        "speechbrain_ee.inference.transcribe",
        "transcribe audio files with an exported model (folder or hub id)",
    ),
    "leaderboard": (
        "speechbrain_ee.leaderboard",
        "every method of the CTC recipe in one table: WER in-domain and out "
        "of distribution, speed-up, layers, frames skipped, memory",
    ),
    "push": (
        "speechbrain_ee.inference.hub",
        "upload an exported model to the Hugging Face hub (--dry-run lists "
        "the files)",
    ),
}


def build_parser():
    """The argument parser with every sub-command.

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> parser = build_parser()
    >>> parser.parse_args(["corpus", "--out", "x"]).command
    'corpus'
    """
    parser = argparse.ArgumentParser(
        prog="speechbrain-ee",
        description="Efficient end-to-end speech recognition on SpeechBrain.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text,
                                    description=help_text)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv=None):
    """Entry point of the ``speechbrain-ee`` console script.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 2 for a usage error, 1 for a failure (see
        `speechbrain_ee.errors`), each reported in one line.
    """
    args = build_parser().parse_args(argv)
    return run_command(f"speechbrain-ee {args.command}", args._module.run, args)


if __name__ == "__main__":
    sys.exit(main())
