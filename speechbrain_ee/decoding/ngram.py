"""Word n-gram language models for the lexicon search: interpolated
Kneser-Ney estimation, written as an ARPA file.

SpeechBrain reads ARPA files (``speechbrain.lm.arpa.read_arpa``) and
queries backoff models (``speechbrain.lm.ngram.BackoffNgramLM``) but does
not estimate them; its recipes call KenLM's ``lmplz``, a binary that no
pip package ships. This module estimates the model from sentences (counts
through ``speechbrain.lm.counting``) and writes the ARPA file that
flashlight's KenLM, inside torchaudio's ``ctc_decoder``, loads.

The estimate is interpolated Kneser-Ney (Chen and Goodman, 1998) with one
discount per order, ``D = n1 / (n1 + 2 n2)``: the highest order uses raw
counts, lower orders continuation counts (in how many distinct contexts
an n-gram follows a word), except the n-grams that begin with ``<s>``,
which keep their raw counts (nothing precedes ``<s>``), as KenLM does. The
unigrams are interpolated with a uniform distribution over the vocabulary
and ``<unk>``. In backoff form, a listed n-gram's probability is the
interpolated one and a context's backoff weight is its interpolation
weight ``gamma(h) = D N1+(h .) / c(h)``, so the ARPA file is the
interpolated model exactly.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math
import os
from collections import Counter, defaultdict

from speechbrain.lm.counting import ngrams, pad_ends

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def _discount(counts):
    """One Kneser-Ney discount from the counts of one order (0.5 when
    there are no singletons or doubletons to estimate it from)."""
    n1 = sum(1 for c in counts.values() if c == 1)
    n2 = sum(1 for c in counts.values() if c == 2)
    return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5


class KneserNeyLM:
    """An interpolated Kneser-Ney word n-gram model estimated from
    sentences.

    Arguments
    ---------
    sentences : iterable of str
        Whitespace-separated words, one sentence each.
    order : int
        The n-gram order (3: trigrams).

    Example
    -------
    >>> lm = KneserNeyLM(["THE CAT SAT", "THE DOG SAT", "A CAT RAN"], order=2)
    >>> round(sum(lm.prob(w, ("THE",)) for w in lm.vocabulary), 6)
    1.0
    >>> lm.prob("CAT", ("THE",)) > lm.prob("RAN", ("THE",))
    True
    """

    def __init__(self, sentences, order=3):
        if order < 1:
            raise ValueError(f"KneserNeyLM: order must be at least 1, not {order}.")
        self.order = order
        raw = [Counter() for _ in range(order + 1)]  # raw[n][ngram]
        for sentence in sentences:
            padded = tuple(pad_ends(sentence.split()))
            for n in range(1, order + 1):
                raw[n].update(ngrams(padded, n))
        if not raw[1]:
            raise ValueError("KneserNeyLM: no sentences to estimate from.")
        self.counts = self._adjusted_counts(raw)
        self.discounts = [None] + [_discount(self.counts[n]) for n in range(1, order + 1)]
        # per context of each order: total count and number of distinct followers
        self.context_total = [defaultdict(int) for _ in range(order + 1)]
        self.context_types = [defaultdict(int) for _ in range(order + 1)]
        for n in range(1, order + 1):
            for gram, count in self.counts[n].items():
                self.context_total[n][gram[:-1]] += count
                self.context_types[n][gram[:-1]] += 1
        words = {w for (w,) in self.counts[1]} - {BOS}
        self.vocabulary = sorted(words | {UNK})

    def _adjusted_counts(self, raw):
        """Raw counts at the highest order and for n-grams that begin with
        ``<s>``; continuation counts below."""
        counts = [None, *(Counter() for _ in range(self.order))]
        counts[self.order] = raw[self.order]
        for n in range(1, self.order):
            for gram in raw[n]:
                if gram[0] == BOS:
                    counts[n][gram] = raw[n][gram]
            for gram in raw[n + 1]:
                counts[n][gram[1:]] += 1
        counts[1].pop((BOS,), None)  # <s> is never predicted
        return counts

    def gamma(self, context):
        """The interpolation (backoff) weight of a seen ``context``."""
        n = len(context) + 1
        total = self.context_total[n].get(context, 0)
        if not total:
            return 1.0
        return self.discounts[n] * self.context_types[n][context] / total

    def prob(self, word, context=()):
        """``p(word | context)``, the last ``order - 1`` words of ``context``
        used; a word outside the vocabulary is ``<unk>``."""
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        if word not in self.vocabulary:
            word = UNK
        return self._prob(word, context)

    def _prob(self, word, context):
        n = len(context) + 1
        total = self.context_total[n].get(context, 0)
        if n == 1:
            uniform = 1.0 / len(self.vocabulary)
            own = max(self.counts[1].get((word,), 0) - self.discounts[1], 0) / total
            return own + self.gamma(()) * uniform
        lower = self._prob(word, context[1:])
        if not total:
            return lower
        own = max(self.counts[n].get(context + (word,), 0) - self.discounts[n], 0) / total
        return own + self.gamma(context) * lower

    def write_arpa(self, path):
        """Writes the model as an ARPA file (log10 probabilities and
        backoff weights), atomically."""
        sections = []
        for n in range(1, self.order + 1):
            lines = []
            grams = sorted(self.counts[n]) if n > 1 else sorted(
                [(w,) for w in self.vocabulary] + [(BOS,)])
            for gram in grams:
                if gram == (BOS,):
                    logp = -99.0  # <s> is never predicted
                else:
                    logp = math.log10(self._prob(gram[-1], gram[:-1]))
                line = f"{logp:.6f}\t{' '.join(gram)}"
                if n < self.order and gram in self.context_total[n + 1]:
                    line += f"\t{math.log10(self.gamma(gram)):.6f}"
                lines.append(line)
            sections.append((n, lines))
        # A name per process: the ranks of a DDP run write the same file.
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\\data\\\n")
            for n, lines in sections:
                f.write(f"ngram {n}={len(lines)}\n")
            for n, lines in sections:
                f.write(f"\n\\{n}-grams:\n")
                f.write("\n".join(lines) + "\n")
            f.write("\n\\end\\\n")
        os.replace(tmp, path)
        return path
