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


def greedy_word_frames(log_probs, id_to_piece, blank_index=0):
    """The words of the greedy CTC path and the frames they span.

    Tokens are SentencePiece pieces: a piece starting with ``▁`` starts a
    word (for a character model ``▁`` is a piece of its own).

    Arguments
    ---------
    log_probs : torch.Tensor
        ``[time, vocab]``, the real frames of one utterance.
    id_to_piece : callable
        Token id -> piece (``SentencePieceProcessor.id_to_piece``).
    blank_index : int
        The CTC blank.

    Returns
    -------
    list of tuple
        ``(word, first_frame, last_frame)``: the frames of the word's first
        and last token.

    Example
    -------
    >>> pieces = ["<blank>", "A", "B", "▁"]
    >>> path = [3, 1, 1, 0, 2, 3, 0, 0, 2, 2]  # ▁ A A - B ▁ - - B B
    >>> lp = torch.nn.functional.one_hot(torch.tensor(path), 4).float().log()
    >>> greedy_word_frames(lp, pieces.__getitem__)
    [('AB', 1, 4), ('B', 8, 8)]
    """
    words, current, previous = [], None, blank_index
    for frame, token in enumerate(log_probs.argmax(dim=-1).tolist()):
        if token != previous and token != blank_index:
            piece = id_to_piece(token)
            if piece.startswith("▁"):
                current, piece = None, piece[1:]
            if piece and current is None:
                current = [piece, frame, frame]
                words.append(current)
            elif piece:
                current[0] += piece
                current[2] = frame
        previous = token
    return [tuple(word) for word in words]
