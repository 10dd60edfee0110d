"""The word n-gram language model of the lexicon search: the Kneser-Ney
estimate against a hand computation and against SpeechBrain's own ARPA
reader and backoff model, and its effect on the search."""

import random

import pytest
import torch
from speechbrain.lm.arpa import read_arpa
from speechbrain.lm.ngram import BackoffNgramLM

from speechbrain_ee.dataio.tokenizer import train_tokenizer
from speechbrain_ee.decoding.lexicon import LexiconSearcher
from speechbrain_ee.decoding.ngram import KneserNeyLM


def random_sentences(count=300, seed=0):
    rng = random.Random(seed)
    words = "THE A CAT DOG SAT RAN ON MAT".split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 7)))
            for _ in range(count)]


def test_bigram_matches_a_hand_computation():
    lm = KneserNeyLM(["A B", "A C"], order=2)
    # bigram discount 4 / (4 + 2 x 1); unigram continuation counts A 1, B 1,
    # C 1, </s> 2, discount 3 / (3 + 2 x 1); vocabulary A B C </s> <unk>
    p_b = (1 - 0.6) / 5 + 0.6 * 4 / 5 / 5
    assert lm.prob("B") == pytest.approx(p_b)
    assert lm.prob("B", ("A",)) == pytest.approx((1 - 2 / 3) / 2 + 2 / 3 * p_b)
    assert lm.prob("NEVER_SEEN", ("A",)) == lm.prob("<unk>", ("A",)) > 0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_is_a_distribution(order):
    lm = KneserNeyLM(random_sentences(), order=order)
    contexts = [(), ("<s>",), ("CAT",), ("<s>", "THE"), ("THE", "CAT"), ("MAT", "MAT", "ON"),
                ("UNSEEN", "WORDS")]
    for context in contexts:
        assert sum(lm.prob(w, context) for w in lm.vocabulary) == pytest.approx(1.0)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_arpa_file_is_the_same_model_for_speechbrain(tmp_path, order):
    lm = KneserNeyLM(random_sentences(), order=order)
    path = lm.write_arpa(tmp_path / "lm.arpa")
    with open(path, encoding="utf-8") as f:
        num_grams, grams, backoffs = read_arpa(f)
    assert num_grams[1] == len(lm.vocabulary) + 1  # and <s>
    reference = BackoffNgramLM(grams, backoffs)
    rng = random.Random(1)
    words = lm.vocabulary + ["<s>"]
    for _ in range(200):
        context = tuple(rng.choice(words) for _ in range(rng.randint(0, order - 1)))
        word = rng.choice(lm.vocabulary)
        assert 10 ** reference.logprob(word, context) == pytest.approx(
            lm.prob(word, context), rel=1e-5)


def test_bad_order_and_empty_text_are_refused():
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM(["A B"], order=0)
    with pytest.raises(ValueError, match="no sentences"):
        KneserNeyLM([], order=2)


@pytest.fixture(scope="module")
def char_tokenizer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tok")
    (tmp / "t.csv").write_text("ID,wrd\na,CAT COT\n")
    return train_tokenizer(str(tmp), 8, str(tmp / "t.csv"), model_type="char")


def ambiguous_cat_or_cot(tok):
    """Posteriors for C ? T with A and O equally likely."""
    frames = [{"C": 0.0}, {"A": -0.7, "O": -0.7}, {"T": 0.0}, {"\u2581": 0.0}]
    log_probs = torch.full((1, len(frames), tok.get_piece_size()), -10.0)
    for t, pieces in enumerate(frames):
        for piece, value in pieces.items():
            log_probs[0, t, tok.piece_to_id(piece)] = value
    return log_probs.log_softmax(-1)


@pytest.mark.parametrize("frequent", ["CAT", "COT"])
def test_language_model_decides_between_lexicon_words(char_tokenizer, tmp_path, frequent):
    rare = {"CAT": "COT", "COT": "CAT"}[frequent]
    text = [frequent] * 20 + [rare]
    searcher = LexiconSearcher(char_tokenizer, text, str(tmp_path), lm_order=2, lm_weight=1.0)
    log_probs = ambiguous_cat_or_cot(char_tokenizer)
    assert searcher(log_probs, torch.ones(1)) == [[frequent]]
    assert (tmp_path / "lm.arpa").is_file()


def test_lm_text_adds_words_and_sentences_to_the_search(char_tokenizer, tmp_path):
    # The transcripts know only CAT; the language-model text brings COT,
    # often enough to win the ambiguous frames.
    (tmp_path / "lm.txt").write_text("COT\n" * 20)
    log_probs = ambiguous_cat_or_cot(char_tokenizer)
    plain = LexiconSearcher(char_tokenizer, ["CAT"], str(tmp_path / "a"), lm_order=2)
    assert plain(log_probs, torch.ones(1)) == [["CAT"]]
    searcher = LexiconSearcher(char_tokenizer, ["CAT"], str(tmp_path / "b"), lm_order=2,
                               lm_text=str(tmp_path / "lm.txt"))
    assert searcher.size == 2
    assert searcher(log_probs, torch.ones(1)) == [["COT"]]
    # Another weight without estimating the model again: with the LM's
    # weight at 0 the acoustics (A slightly above O) decide; the model file
    # is not written again.
    leaning = log_probs.clone()
    leaning[0, 1, char_tokenizer.piece_to_id("A")] += 0.1
    assert searcher(leaning, torch.ones(1)) == [["COT"]]
    arpa = tmp_path / "b" / "lm.arpa"
    mtime = arpa.stat().st_mtime_ns
    assert searcher.reweighted(0.0, 0.0)(leaning, torch.ones(1)) == [["CAT"]]
    assert arpa.stat().st_mtime_ns == mtime


def test_missing_lm_text_is_named(char_tokenizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="lm_text: .*nowhere.txt not found.*lm_text null"):
        LexiconSearcher(char_tokenizer, ["CAT"], str(tmp_path), lm_text=str(tmp_path / "nowhere.txt"))
