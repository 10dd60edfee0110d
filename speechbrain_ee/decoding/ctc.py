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


def greedy_ctc_step(log_probs, previous=None, blank_index=0):
    """Greedy CTC tokens of the next frames of a stream.

    Frame by frame, the best token; a token repeated from the frame before
    (across chunks too: ``previous``) and the blank emit nothing, as in
    whole-utterance greedy decoding.

    Arguments
    ---------
    log_probs : torch.Tensor
        ``[batch, frames, vocab]``, the stream's next frames.
    previous : list of int, optional
        Each row's best token on the frame before (None: start of stream).
    blank_index : int
        The CTC blank.

    Returns
    -------
    tokens : list of list of int
        Each row's new tokens.
    previous : list of int
        Each row's best token on the last frame (the next call's
        ``previous``).

    Example
    -------
    >>> lp = torch.nn.functional.one_hot(torch.tensor([[1, 1, 0, 2]]), 3).float()
    >>> tokens, last = greedy_ctc_step(lp)
    >>> tokens, last
    ([[1, 2]], [2])
    >>> greedy_ctc_step(lp[:, 3:], previous=[2])[0]  # the 2 continues
    [[]]
    """
    best = log_probs.argmax(dim=-1).tolist()
    if previous is None:
        previous = [blank_index] * len(best)
    tokens, last = [], []
    for row, before in zip(best, previous):
        new = []
        for token in row:
            if token != before and token != blank_index:
                new.append(token)
            before = token
        tokens.append(new)
        last.append(before)
    return tokens, last


def pieces_text(tokenizer, tokens, started=True):
    """The text of a stream's next SentencePiece tokens, to append to what
    came before (``▁`` is a space; no leading space at the stream's start).

    Arguments
    ---------
    tokenizer : sentencepiece.SentencePieceProcessor
        ``id_to_piece`` and ``is_unknown``.
    tokens : list of int
        The new tokens.
    started : bool
        Whether text came before.

    Returns
    -------
    str

    Example
    -------
    >>> class Pieces:
    ...     pieces = ["<unk>", "▁", "A", "B"]
    ...     def id_to_piece(self, i): return self.pieces[i]
    ...     def is_unknown(self, i): return i == 0
    >>> pieces_text(Pieces(), [1, 2, 3, 1], started=False), pieces_text(Pieces(), [2])
    ('AB ', 'A')
    """
    text = "".join(" \u2047 " if tokenizer.is_unknown(t) else tokenizer.id_to_piece(t)
                   for t in tokens).replace("\u2581", " ")
    return text if started else text.lstrip(" ")
