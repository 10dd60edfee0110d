"""Lexicon-constrained CTC beam search for character models.

A character CTC model spells: at 20% CER most words have a letter wrong,
so its word error rate is about three times its CER. Constraining the beam
search to a lexicon (the words of the training transcripts, or any word
list) makes every hypothesis a sequence of real words, as the decoders of
wav2letter and of torchaudio's CTC recipes do. The search is
flashlight-text's C++ beam search, through torchaudio's ``ctc_decoder``,
optionally with a word n-gram language model estimated from the same
transcripts (``speechbrain_ee.decoding.ngram``; KenLM inside flashlight
loads it), as LibriSpeech systems decode with an n-gram LM.

Authors
-------
* speechbrain-ee contributors 2026
"""

import copy
import csv
import gzip
import os

from speechbrain_ee.decoding.ngram import KneserNeyLM
from speechbrain_ee.decoding.ctc import frame_lengths

WORD_BOUNDARY = "\u2581"  # SentencePiece's word-boundary piece


def csv_transcripts(csv_paths, column="wrd"):
    """The transcripts (the ``column``) of recipe CSVs, in file order.

    Arguments
    ---------
    csv_paths : list of str
        CSVs (e.g. the recipe's ``train_csv``).
    column : str
        The transcript column.

    Returns
    -------
    list of str

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> _ = open(path, "w").write("ID,wrd\\na,THE CAT\\nb,THE DOG\\n")
    >>> csv_transcripts([path])
    ['THE CAT', 'THE DOG']
    """
    transcripts = []
    for path in csv_paths:
        with open(path, newline="", encoding="utf-8") as f:
            transcripts.extend(row[column] for row in csv.DictReader(f))
    return transcripts


def text_sentences(path):
    """The sentences of a language-model text: one per line, as in
    LibriSpeech's ``librispeech-lm-norm.txt`` (gzipped or not) or the
    built-in corpus's ``mini-librispeech-lm``.

    Arguments
    ---------
    path : str
        The text file (``.gz``: gzip).

    Returns
    -------
    list of str

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "lm.txt")
    >>> _ = open(path, "w").write("THE CAT\\n\\nTHE DOG\\n")
    >>> text_sentences(path)
    ['THE CAT', 'THE DOG']
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


class LexiconSearcher:
    """CTC beam search whose hypotheses are words of a lexicon, for a
    character tokenizer (one piece per character and a word-boundary piece
    ``▁``, as the recipes' ``token_type: char`` tokenizers have).

    Arguments
    ---------
    tokenizer : sentencepiece.SentencePieceProcessor
        The model's character tokenizer.
    transcripts : list of str
        Sentences (e.g. the training transcripts): their words are the
        lexicon (a word with a character the tokenizer lacks is left out)
        and, with ``lm_order > 0``, the language model's training text.
    folder : str
        Where the lexicon (``lexicon.txt``) and the language model
        (``lm.arpa``) are written.
    beam_size : int
        Hypotheses kept at each frame.
    blank_index : int
        The CTC blank's id.
    lm_order : int
        Order of the Kneser-Ney word n-gram model (``0``: no language
        model, every lexicon word scores the same).
    lm_weight : float
        Weight of the language model's score (KenLM's log-probability).
    word_score : float
        Score added per word (positive: longer hypotheses).
    lm_text : str or None
        A language-model text (`text_sentences`; e.g. LibriSpeech's
        ``librispeech-lm-norm.txt``): its sentences join ``transcripts``
        as the lexicon's words and the language model's training text.

    Example
    -------
    >>> import tempfile, torch
    >>> from speechbrain_ee.dataio.tokenizer import train_tokenizer
    >>> tmp = tempfile.mkdtemp()
    >>> _ = open(os.path.join(tmp, "t.csv"), "w").write("ID,wrd\\na,CAT DOG\\n")
    >>> tok = train_tokenizer(tmp, 8, os.path.join(tmp, "t.csv"), model_type="char")
    >>> searcher = LexiconSearcher(tok, ["CAT", "DOG"], tmp)  # the two words, no LM
    >>> frames = ["C", "A", "T", "\u2581", "D", "O", "T", "\u2581"]  # best path: CAT DOT
    >>> log_probs = torch.full((1, len(frames), tok.get_piece_size()), -10.0)
    >>> for t, piece in enumerate(frames):
    ...     log_probs[0, t, tok.piece_to_id(piece)] = 0.0
    >>> log_probs[0, 6, tok.piece_to_id("G")] = -1.0  # G: second best
    >>> searcher(log_probs.log_softmax(-1), torch.ones(1))  # DOT is no word
    [['CAT', 'DOG']]
    >>> with_lm = LexiconSearcher(tok, ["CAT DOG"] * 3 + ["DOG CAT"], tmp, lm_order=2)
    >>> with_lm(log_probs.log_softmax(-1), torch.ones(1))
    [['CAT', 'DOG']]
    """

    def __init__(self, tokenizer, transcripts, folder, beam_size=50, blank_index=0,
                 lm_order=0, lm_weight=1.0, word_score=0.0, lm_text=None):
        pieces = [tokenizer.id_to_piece(i) for i in range(tokenizer.get_piece_size())]
        if WORD_BOUNDARY not in pieces:
            raise ValueError("LexiconSearcher needs a character tokenizer (token_type: char) "
                             f"with a word-boundary piece {WORD_BOUNDARY!r}.")
        # flashlight names the blank and the word boundary by token: give
        # the blank a name of its own.
        tokens = ["<blank>" if i == blank_index else p for i, p in enumerate(pieces)]
        known = set(tokens)
        if lm_text:
            if not os.path.isfile(lm_text):
                raise FileNotFoundError(
                    f"lm_text: {lm_text} not found. Build the built-in one with "
                    "`speechbrain-ee corpus --out corpora` (mini-librispeech-lm), pass "
                    "another text (one sentence per line, e.g. LibriSpeech's "
                    "librispeech-lm-norm.txt), or lm_text null for the training "
                    "transcripts alone.")
            transcripts = list(transcripts) + text_sentences(lm_text)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "lexicon.txt")
        words = sorted({w for t in transcripts for w in t.split()})
        kept = [w for w in words if all(c in known for c in w)]
        if not kept:
            raise ValueError("LexiconSearcher: no lexicon word can be spelled with the "
                             "tokenizer's characters.")
        tmp = f"{path}.{os.getpid()}.tmp"  # the ranks of a DDP run write the same file
        with open(tmp, "w", encoding="utf-8") as f:
            for word in kept:
                f.write(f"{word}\t{' '.join(word)} {WORD_BOUNDARY}\n")
        os.replace(tmp, path)
        self.size = len(kept)
        lm = None
        if lm_order > 0:
            lm = KneserNeyLM(transcripts, lm_order).write_arpa(os.path.join(folder, "lm.arpa"))
        self.files = dict(lexicon=path, tokens=tokens, lm=lm, beam_size=beam_size)
        self.decoder = self._decoder(lm_weight, word_score)

    def _decoder(self, lm_weight, word_score):
        """flashlight's decoder over this searcher's lexicon and LM files."""
        from torchaudio.models.decoder import ctc_decoder

        return ctc_decoder(**self.files, blank_token="<blank>", sil_token=WORD_BOUNDARY,
                           unk_word="<unk>", lm_weight=lm_weight, word_score=word_score)

    def reweighted(self, lm_weight, word_score):
        """The same search (lexicon, language model) with another LM weight
        and word score, without estimating the model again: for tuning
        them on a dev set.

        Arguments
        ---------
        lm_weight : float
            Weight of the language model's score.
        word_score : float
            Score added per word.

        Returns
        -------
        LexiconSearcher
        """
        other = copy.copy(self)
        other.decoder = self._decoder(lm_weight, word_score)
        return other

    def __call__(self, log_probs, wav_lens):
        """Decodes a batch.

        Arguments
        ---------
        log_probs : torch.Tensor
            ``[batch, time, vocab]`` CTC log-probabilities.
        wav_lens : torch.Tensor
            Relative lengths (SpeechBrain's convention).

        Returns
        -------
        list of list of str
            The best hypothesis of each utterance, as words.
        """
        lengths = frame_lengths(wav_lens.cpu(), log_probs.shape[1]).int()
        hyps = self.decoder(log_probs.detach().float().cpu().contiguous(), lengths)
        return [[w for w in h[0].words if w != "<unk>"] if h else [] for h in hyps]
