"""CTC decoding helpers shared by the recipes, inference and analysis:
greedy decoding to words, real frame counts, word errors.

Authors
-------
* speechbrain-ee contributors 2026
"""

import torch
from rapidfuzz.distance import Levenshtein


def word_errors(hyp, ref):
    """Word-level edit distance between two word lists.

    Example
    -------
    >>> word_errors("a b c".split(), "a x c d".split())
    2
    """
    return Levenshtein.distance(hyp, ref)


def frame_lengths(wav_lens, time):
    """Real frames per utterance, as SpeechBrain's masks count them."""
    return torch.round(wav_lens * time).long().clamp(min=1)


def greedy_decoder(tokenizer, blank_index=0):
    """``decode(log_probs, wav_lens) -> word lists``: greedy CTC decoding
    and detokenisation, as the recipe scores its dev set.

    Arguments
    ---------
    tokenizer : sentencepiece.SentencePieceProcessor
        Turns token ids into text.
    blank_index : int
        The CTC blank.

    Returns
    -------
    callable
    """
    import speechbrain as sb

    def decode(log_probs, wav_lens):
        seqs = sb.decoders.ctc_greedy_decode(
            log_probs, wav_lens.to(log_probs.device), blank_id=blank_index
        )
        return [tokenizer.decode_ids(s).split() for s in seqs]

    return decode
