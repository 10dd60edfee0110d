"""Exit strategies for early-exit CTC encoders, and the oracle bound.

An early-exit encoder visits its exits from the shallowest; after each exit
an `ExitStrategy` decides, per utterance, whether to stop there. Every
strategy has the same small interface (ESPnet-style: a base class and a
registry that maps a YAML or command-line name to the class):

* ``init_state(batch_size)``: the per-call bookkeeping (keyed by the
  utterance's row in the original batch, so that utterances may leave the
  batch between exits);
* ``step(state, position, layer, log_probs, lengths, rows)``: for each
  utterance still running, the exit to use (``position`` itself, an
  earlier exit for patience, or -1 to go on).

`simulate` runs a strategy on the posteriors of every exit computed in
advance (what the trade-off tool sweeps); `DynamicCTCEncoder` (``lobes``) runs
the same ``step`` online and skips the layers it does not need. The oracle
(`oracle_exits`, `oracle_curve`) needs the references and is the bound no
real strategy can beat.

The strategies follow ``../shared/specs/early_exit.md``: fixed, confidence
(max probability, entropy, top-2 margin), sequence confidence (n-best
posterior, or the greedy path), patience (PABEE adapted to ASR, the seed's
first strategy), and ``token_confidence``, *our working definition* of the
seed's ASR-specific strategy, whose exact rule could not be read.

Authors
-------
* speechbrain-ee contributors 2026
"""

import copy
import math

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein

from speechbrain_ee.nnet.exit_loop import exit_loop

CONTINUE = -1
"""What ``step`` returns for an utterance that goes on to the next exit."""

STRATEGIES = {}
"""Name -> `ExitStrategy` subclass; see `build_strategy`."""


def register(name):
    """Class decorator: makes a strategy buildable by ``name``."""

    def wrap(cls):
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return wrap


def build_strategy(name, **kwargs):
    """Builds the strategy registered as ``name``.

    Arguments
    ---------
    name : str
        One of ``STRATEGIES`` (``fixed``, ``confidence``,
        ``sequence_confidence``, ``patience``, ``token_confidence``).
    **kwargs
        The strategy's own arguments.

    Returns
    -------
    ExitStrategy

    Example
    -------
    >>> build_strategy("confidence", measure="entropy", threshold=0.01)
    Confidence(measure='entropy', threshold=0.01)
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown exit strategy {name!r}; known: {sorted(STRATEGIES)}."
        )
    return STRATEGIES[name](**kwargs)


def with_threshold(strategy, threshold):
    """A copy of ``strategy`` with another threshold and every other
    setting kept (for ``fixed``, the threshold is the exit layer).

    Arguments
    ---------
    strategy : ExitStrategy
        The strategy to copy.
    threshold : float
        The new threshold.

    Returns
    -------
    ExitStrategy

    Example
    -------
    >>> with_threshold(build_strategy("confidence", measure="entropy", threshold=0.01), 0.002)
    Confidence(measure='entropy', threshold=0.002)
    """
    changed = copy.copy(strategy)
    if isinstance(strategy, FixedExit):
        changed.layer = int(threshold)
    elif hasattr(strategy, "threshold"):
        changed.threshold = float(threshold)
    else:
        raise ValueError(f"{strategy!r} has no threshold to set.")
    return changed


def frame_mask(lengths, time):
    """``[batch, time]`` True on the real frames."""
    positions = torch.arange(time, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


def masked_frame_mean(values, lengths):
    """Mean of ``values [batch, time]`` over each row's real frames."""
    mask = frame_mask(lengths, values.shape[1]).to(values.dtype)
    return (values * mask).sum(dim=1) / lengths.clamp(min=1).to(values.dtype)


def greedy_frames(log_probs, length):
    """The per-frame argmax labels of one utterance (a list of ints)."""
    return log_probs[:length].argmax(dim=-1).tolist()


def collapse(labels, blank_index=0):
    """CTC collapse: merge repeats, then drop blanks.

    Example
    -------
    >>> collapse([0, 3, 3, 0, 3, 5, 5, 0])
    [3, 3, 5]
    """
    out, previous = [], None
    for label in labels:
        if label != previous and label != blank_index:
            out.append(label)
        previous = label
    return out


class ExitStrategy:
    """Base class: decides, after each exit, which utterances stop.

    Subclasses implement `step`; those that keep per-utterance memory
    override `init_state`. A strategy may choose an *earlier* exit than the
    current one (patience does); it then sets ``chooses_earlier = True`` so
    that the encoder keeps the earlier exits' posteriors.
    """

    name = None
    chooses_earlier = False

    def init_state(self, batch_size):
        """Per-call memory, keyed by row of the original batch.

        Arguments
        ---------
        batch_size : int
            Rows of the original batch.

        Returns
        -------
        dict
        """
        return {}

    def step(self, state, position, layer, log_probs, lengths, rows):
        """The exit to use for each running utterance, or `CONTINUE`.

        Arguments
        ---------
        state : dict
            From `init_state`; updated in place.
        position : int
            Index of this exit among the exits (0 = shallowest).
        layer : int
            Number of encoder layers computed at this exit.
        log_probs : torch.Tensor
            ``[batch, time, vocab]`` CTC log-probabilities of this exit for
            the utterances still running.
        lengths : torch.Tensor
            ``[batch]`` real frames of each.
        rows : torch.Tensor
            ``[batch]`` their rows in the original batch.

        Returns
        -------
        torch.Tensor
            ``[batch]`` long: an exit position (<= ``position``) or -1.
        """
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({args})"

    def describe(self):
        """The strategy's settings, for reports (name -> value)."""
        return {}


class ScoreThreshold(ExitStrategy):
    """A strategy that stops when a per-utterance score passes a threshold.

    The score of an exit depends on that exit alone, so a sweep over
    thresholds computes it once per utterance and exit (see
    `first_passing_exit`). Subclasses define `score` and, through
    ``lower_is_confident``, the direction of the comparison.
    """

    threshold = None
    lower_is_confident = False

    def score(self, log_probs, lengths):
        """The confidence score of each utterance (``[batch]``)."""
        raise NotImplementedError

    def passes(self, score, threshold=None):
        """Whether ``score`` passes ``threshold`` (default: the strategy's)."""
        threshold = self.threshold if threshold is None else threshold
        if self.lower_is_confident:
            return score <= threshold
        return score >= threshold

    def step(self, state, position, layer, log_probs, lengths, rows):
        """See `ExitStrategy.step`."""
        return _stop_here(self.passes(self.score(log_probs, lengths)),
                          position)


def first_passing_exit(strategy, scores, threshold):
    """Offline decisions of a `ScoreThreshold` strategy from its scores.

    Arguments
    ---------
    strategy : ScoreThreshold
        Gives the direction of the comparison.
    scores : torch.Tensor
        ``[utterances, exits]`` scores of every exit.
    threshold : float
        The threshold to apply.

    Returns
    -------
    torch.Tensor
        ``[utterances]``: the first exit that passes, else the last one;
        the same as `simulate` with the strategy at that threshold.

    Example
    -------
    >>> s = Confidence("max_prob", threshold=0.9)
    >>> first_passing_exit(s, torch.tensor([[0.5, 0.95], [0.2, 0.3]]), 0.9)
    tensor([1, 1])
    """
    fires = strategy.passes(scores, threshold)
    fires[:, -1] = True
    return fires.to(torch.int8).argmax(dim=1)


def _stop_here(fire, position):
    """``position`` where ``fire`` is True, else `CONTINUE`."""
    return torch.where(
        fire,
        torch.full_like(fire, position, dtype=torch.long),
        torch.full_like(fire, CONTINUE, dtype=torch.long),
    )


@register("fixed")
class FixedExit(ExitStrategy):
    """Always stops at the first exit with at least ``layer`` layers.

    Arguments
    ---------
    layer : int
        Encoder layers to compute.

    Example
    -------
    >>> s = FixedExit(layer=4)
    >>> lp = torch.zeros(2, 3, 5)
    >>> s.step({}, 0, 2, lp, torch.tensor([3, 2]), torch.arange(2)).tolist()
    [-1, -1]
    >>> s.step({}, 1, 4, lp, torch.tensor([3, 2]), torch.arange(2)).tolist()
    [1, 1]
    """

    def __init__(self, layer):
        self.layer = int(layer)

    def step(self, state, position, layer, log_probs, lengths, rows):
        """See `ExitStrategy.step`."""
        fire = torch.full(
            (log_probs.shape[0],), layer >= self.layer, dtype=torch.bool,
            device=log_probs.device,
        )
        return _stop_here(fire, position)

    def describe(self):
        """See `ExitStrategy.describe`."""
        return {"layer": self.layer}


CONFIDENCE_MEASURES = ("max_prob", "entropy", "margin")


def confidence_score(log_probs, lengths, measure):
    """Frame-averaged confidence of CTC posteriors, per utterance.

    Arguments
    ---------
    log_probs : torch.Tensor
        ``[batch, time, vocab]``.
    lengths : torch.Tensor
        ``[batch]`` real frames.
    measure : str
        ``max_prob``: mean over frames of the highest probability;
        ``entropy``: entropy summed over frames and vocabulary, divided by
        ``time * vocab`` (low = confident); ``margin``: mean over frames of
        the top-1 minus the top-2 probability.

    Returns
    -------
    torch.Tensor
        ``[batch]``.

    Example
    -------
    >>> lp = torch.tensor([[[0.7, 0.2, 0.1], [0.9, 0.05, 0.05]]]).log()
    >>> confidence_score(lp, torch.tensor([2]), "max_prob")
    tensor([0.8000])
    >>> confidence_score(lp, torch.tensor([2]), "margin")
    tensor([0.6750])
    """
    probs = log_probs.exp()
    if measure == "max_prob":
        per_frame = probs.max(dim=-1).values
    elif measure == "margin":
        top = probs.topk(2, dim=-1).values
        per_frame = top[..., 0] - top[..., 1]
    elif measure == "entropy":
        per_frame = -(probs * log_probs).sum(dim=-1) / log_probs.shape[-1]
    else:
        raise ValueError(
            f"measure={measure!r}: expected one of {CONFIDENCE_MEASURES}."
        )
    return masked_frame_mean(per_frame, lengths)


@register("confidence")
class Confidence(ScoreThreshold):
    """Stops when the exit's frame-averaged confidence passes a threshold.

    DeeBERT / HuBERT-EE style: ``max_prob`` and ``margin`` stop at or
    above the threshold, ``entropy`` at or below it.

    Arguments
    ---------
    measure : str
        ``max_prob``, ``entropy`` or ``margin`` (see `confidence_score`).
    threshold : float
        The author's code: about 0.90-0.955 (max_prob), 0.005 (entropy),
        0.55 (margin).

    Example
    -------
    >>> lp = torch.tensor([[[0.7, 0.2, 0.1], [0.9, 0.05, 0.05]],
    ...                    [[0.4, 0.3, 0.3], [0.5, 0.3, 0.2]]]).log()
    >>> s = Confidence("max_prob", threshold=0.75)
    >>> s.step({}, 0, 1, lp, torch.tensor([2, 2]), torch.arange(2)).tolist()
    [0, -1]
    """

    def __init__(self, measure="max_prob", threshold=0.9):
        if measure not in CONFIDENCE_MEASURES:
            raise ValueError(
                f"measure={measure!r}: expected one of {CONFIDENCE_MEASURES}."
            )
        self.measure = measure
        self.threshold = float(threshold)
        self.lower_is_confident = measure == "entropy"

    def score(self, log_probs, lengths):
        """See `ScoreThreshold.score`."""
        return confidence_score(log_probs, lengths, self.measure)

    def describe(self):
        """See `ExitStrategy.describe`."""
        return {"measure": self.measure, "threshold": self.threshold}


def greedy_path_confidence(log_probs, lengths):
    """exp of the greedy path's log-probability divided by its length.

    Example
    -------
    >>> lp = torch.tensor([[[0.5, 0.5], [0.8, 0.2]]]).log()
    >>> greedy_path_confidence(lp, torch.tensor([2]))
    tensor([0.6325])
    """
    best = log_probs.max(dim=-1).values
    return masked_frame_mean(best, lengths).exp()


def nbest_posterior(log_probs, lengths, searcher):
    """Posterior of the best of the n-best CTC beam hypotheses.

    A softmax over the scores of the n-best hypotheses of a CTC prefix beam
    search (paths of the same label sequence merged); the top hypothesis's
    share (Wright et al.).

    Arguments
    ---------
    log_probs : torch.Tensor
        ``[batch, time, vocab]``.
    lengths : torch.Tensor
        ``[batch]`` real frames.
    searcher : torchaudio.models.decoder.CTCDecoder
        From `nbest_searcher`.

    Returns
    -------
    torch.Tensor
        ``[batch]`` in ``(0, 1]``.

    Example
    -------
    >>> lp = torch.tensor([[[0.9, 0.1], [0.9, 0.1]]]).log()
    >>> round(float(nbest_posterior(lp, torch.tensor([2]), nbest_searcher(2, 5))), 3)
    0.81
    """
    # flashlight's search wants a word-boundary token: a last column that
    # no path takes
    never = log_probs.new_full((*log_probs.shape[:2], 1), -1e4)
    emissions = torch.cat([log_probs, never], -1).float().cpu().contiguous()
    out = []
    for hyps in searcher(emissions, lengths.int().cpu()):
        scores = torch.tensor([float(h.score) for h in hyps])
        out.append(float(torch.softmax(scores, dim=0).max()) if len(hyps) else 1.0)
    return torch.tensor(out, device=log_probs.device)


def nbest_searcher(vocab_size, n_best, blank_index=0):
    """A lexicon-free CTC prefix beam search returning ``n_best``
    hypotheses: flashlight-text's C++ search through torchaudio's
    ``ctc_decoder``, merging the paths of one label sequence by log-add (as
    SpeechBrain's ``CTCBeamSearcher`` does, 50x faster here). Token ids
    stand for the vocabulary (only the scores are used).
    """
    from torchaudio.models.decoder import ctc_decoder

    tokens = [str(i) for i in range(vocab_size)] + ["|"]
    return ctc_decoder(lexicon=None, tokens=tokens, nbest=n_best, beam_size=n_best,
                       blank_token=str(blank_index), sil_token="|", log_add=True)


@register("sequence_confidence")
class SequenceConfidence(ScoreThreshold):
    """Stops when the exit's transcript is probable enough (Wright et al.).

    Arguments
    ---------
    threshold : float
        Stop at or above it.
    form : str
        ``nbest``: softmax over the scores of the n-best beam hypotheses,
        the top one's probability (the paper); ``greedy``: the greedy
        path's length-normalised probability (cheap).
    n_best : int
        Hypotheses for ``nbest`` (the paper: 10).
    blank_index : int
        The CTC blank.

    Example
    -------
    >>> lp = torch.tensor([[[0.5, 0.5], [0.8, 0.2]]]).log()
    >>> s = SequenceConfidence(threshold=0.6, form="greedy")
    >>> s.step({}, 0, 1, lp, torch.tensor([2]), torch.arange(1)).tolist()
    [0]
    """

    FORMS = ("nbest", "greedy")

    def __init__(self, threshold=0.9, form="nbest", n_best=10, blank_index=0):
        if form not in self.FORMS:
            raise ValueError(f"form={form!r}: expected one of {self.FORMS}.")
        self.threshold = float(threshold)
        self.form = form
        self.n_best = int(n_best)
        self.blank_index = blank_index
        self._searcher = None  # (vocabulary size, n-best CTC search)

    def score(self, log_probs, lengths):
        """See `ScoreThreshold.score`."""
        if self.form == "greedy":
            return greedy_path_confidence(log_probs, lengths)
        vocab = log_probs.shape[-1]
        if self._searcher is None or self._searcher[0] != vocab:
            self._searcher = (
                vocab, nbest_searcher(vocab, self.n_best, self.blank_index)
            )
        return nbest_posterior(log_probs, lengths, self._searcher[1])

    def describe(self):
        """See `ExitStrategy.describe`."""
        return {"threshold": self.threshold, "form": self.form,
                "n_best": self.n_best}


PATIENCE_DISTANCES = ("cer", "cer_collapsed", "bce")


def label_distance(a, b):
    """Edit distance between two label sequences over ``len(b)``."""
    return Levenshtein.distance(a, b) / max(1, len(b))


def posterior_bce(log_probs_a, log_probs_b, eps=1e-7):
    """Binary cross-entropy of posteriors ``a`` against targets ``b``,
    averaged over frames and vocabulary (``[time, vocab]`` each)."""
    p = log_probs_a.exp().clamp(eps, 1 - eps)
    q = log_probs_b.exp()
    bce = -(q * p.log() + (1 - q) * (1 - p).log())
    return float(bce.mean())


@register("patience")
class Patience(ExitStrategy):
    """PABEE adapted to ASR (the seed's first strategy, as its code does).

    Keeps a window of consecutive exits that agree: at each exit, the
    largest distance between its output and every exit in the window; at
    most ``threshold``: the exit joins the window, else the window restarts
    from it. When the window holds ``patience + 1`` exits, the utterance
    stops with the *first* exit of the window.

    Arguments
    ---------
    patience : int
        Agreeing exits needed after the first.
    threshold : float
        Largest distance that counts as agreement.
    distance : str
        ``cer``: edit distance between the per-frame argmax strings (not
        collapsed, as the author's code) over the window exit's length;
        ``cer_collapsed``: the same on CTC-collapsed strings; ``bce``:
        binary cross-entropy between the posterior matrices over
        ``time * vocab``.
    blank_index : int
        The CTC blank (for ``cer_collapsed``).

    Example
    -------
    >>> a = torch.tensor([[[0.9, 0.1], [0.1, 0.9]]]).log()
    >>> b = torch.tensor([[[0.1, 0.9], [0.1, 0.9]]]).log()
    >>> s = Patience(patience=1, threshold=0.0)
    >>> st = s.init_state(1)
    >>> one = torch.tensor([2])
    >>> [s.step(st, i, i + 1, lp, one, torch.arange(1)).item()
    ...  for i, lp in enumerate([a, b, b])]
    [-1, -1, 1]
    """

    chooses_earlier = True

    def __init__(self, patience=2, threshold=0.1, distance="cer",
                 blank_index=0):
        if distance not in PATIENCE_DISTANCES:
            raise ValueError(
                f"distance={distance!r}: expected one of "
                f"{PATIENCE_DISTANCES}."
            )
        self.patience = int(patience)
        self.threshold = float(threshold)
        self.distance = distance
        self.blank_index = blank_index

    def init_state(self, batch_size):
        """Per row: the window, a list of (position, output)."""
        return {"window": [[] for _ in range(batch_size)]}

    def _output(self, log_probs, length):
        if self.distance == "bce":
            return log_probs[:length]
        labels = greedy_frames(log_probs, length)
        if self.distance == "cer_collapsed":
            labels = collapse(labels, self.blank_index)
        return labels

    def _distance(self, a, b):
        if self.distance == "bce":
            return posterior_bce(a, b)
        return label_distance(a, b)

    def step(self, state, position, layer, log_probs, lengths, rows):
        """See `ExitStrategy.step`."""
        chosen = []
        for i, row in enumerate(rows.tolist()):
            out = self._output(log_probs[i], int(lengths[i]))
            window = state["window"][row]
            if window and max(
                self._distance(out, prev) for _, prev in window
            ) <= self.threshold:
                window.append((position, out))
            else:
                window[:] = [(position, out)]
            full = len(window) >= self.patience + 1
            chosen.append(window[0][0] if full else CONTINUE)
        return torch.tensor(chosen, dtype=torch.long, device=log_probs.device)

    def describe(self):
        """See `ExitStrategy.describe`."""
        return {"patience": self.patience, "threshold": self.threshold,
                "distance": self.distance}


def token_confidence(log_probs, length, blank_index=0):
    """Mean highest probability over the frames whose argmax is no blank.

    Frame-averaged confidence is dominated by blank frames, which every
    layer predicts confidently; this measures the hypothesis's tokens
    only. An utterance with no token frame falls back to all its frames.

    Example
    -------
    >>> lp = torch.tensor([[0.99, 0.01], [0.3, 0.7], [0.99, 0.01]]).log()
    >>> round(token_confidence(lp, 3), 3)
    0.7
    """
    probs = log_probs[:length].exp()
    best, labels = probs.max(dim=-1)
    tokens = labels != blank_index
    if not bool(tokens.any()):
        return float(best.mean()) if length else 1.0
    return float(best[tokens].mean())


@register("token_confidence")
class TokenConfidence(ExitStrategy):
    """Our working definition of the seed's ASR-specific strategy.

    The seed's exact rule could not be read (see the early-exit spec).
    This definition stops when the confidence over the hypothesis's token
    frames (`token_confidence`, blank frames excluded) is at least
    ``threshold`` *and* the collapsed greedy hypothesis is the same as at
    the previous exit; so it never stops at the first exit.

    Arguments
    ---------
    threshold : float
        Token confidence needed.
    blank_index : int
        The CTC blank.

    Example
    -------
    >>> lp = torch.tensor([[[0.99, 0.01], [0.2, 0.8], [0.99, 0.01]]]).log()
    >>> s = TokenConfidence(threshold=0.75)
    >>> st = s.init_state(1)
    >>> [s.step(st, i, i + 1, lp, torch.tensor([3]), torch.arange(1)).item()
    ...  for i in range(2)]
    [-1, 1]
    """

    def __init__(self, threshold=0.9, blank_index=0):
        self.threshold = float(threshold)
        self.blank_index = blank_index

    def init_state(self, batch_size):
        """Per row: the previous exit's collapsed hypothesis."""
        return {"previous": [None] * batch_size}

    def step(self, state, position, layer, log_probs, lengths, rows):
        """See `ExitStrategy.step`."""
        chosen = []
        for i, row in enumerate(rows.tolist()):
            length = int(lengths[i])
            hyp = collapse(greedy_frames(log_probs[i], length),
                           self.blank_index)
            same = hyp == state["previous"][row]
            state["previous"][row] = hyp
            confident = token_confidence(
                log_probs[i], length, self.blank_index
            ) >= self.threshold
            chosen.append(position if same and confident else CONTINUE)
        return torch.tensor(chosen, dtype=torch.long, device=log_probs.device)

    def describe(self):
        """See `ExitStrategy.describe`."""
        return {"threshold": self.threshold}


def simulate(strategy, exit_log_probs, lengths, exit_layers):
    """Runs a strategy on posteriors computed at every exit in advance.

    Exactly what `DynamicCTCEncoder` (``lobes``) decides online (the same
    `speechbrain_ee.nnet.exit_loop.exit_loop`), without running the encoder
    again: the trade-off tool sweeps thresholds with it.

    Arguments
    ---------
    strategy : ExitStrategy
        The strategy.
    exit_log_probs : list of torch.Tensor
        ``[batch, time, vocab]`` per exit, shallowest first.
    lengths : torch.Tensor
        ``[batch]`` real frames.
    exit_layers : list of int
        Layers computed at each exit.

    Returns
    -------
    chosen : torch.Tensor
        ``[batch]``: the exit position whose output each utterance uses.
    stopped : torch.Tensor
        ``[batch]``: the exit position where it stopped computing (later
        than ``chosen`` for patience).

    Example
    -------
    >>> lps = [torch.zeros(2, 3, 4).log_softmax(-1)] * 3
    >>> chosen, stopped = simulate(FixedExit(4), lps, torch.tensor([3, 2]),
    ...                            [2, 4, 6])
    >>> chosen.tolist(), stopped.tolist()
    ([1, 1], [1, 1])
    """
    decisions = exit_loop(
        strategy, exit_layers, exit_log_probs[0].shape[0],
        lambda position, rows: (exit_log_probs[position][rows], lengths[rows]))
    return decisions.chosen, decisions.stopped


def oracle_exits(errors):
    """Per utterance, the shallowest exit with the fewest errors.

    Arguments
    ---------
    errors : array-like
        ``[utterances, exits]`` word errors of every exit.

    Returns
    -------
    numpy.ndarray
        ``[utterances]`` exit positions.

    Example
    -------
    >>> oracle_exits([[3, 1, 1], [2, 2, 0]]).tolist()
    [1, 2]
    """
    errors = np.asarray(errors)
    return (errors == errors.min(axis=1, keepdims=True)).argmax(axis=1)


def oracle_curve(errors, exit_layers):
    """The bound: fewest total errors for each average depth.

    A multiple-choice knapsack over utterances (each picks one exit; cost
    = layers computed), solved exactly by dynamic programming over the
    total number of layers. Only the Pareto points are returned.

    Arguments
    ---------
    errors : array-like
        ``[utterances, exits]`` word errors.
    exit_layers : list of int
        Layers computed at each exit.

    Returns
    -------
    list of (float, int)
        ``(average layers, total errors)``, depth increasing, errors
        decreasing.

    Example
    -------
    >>> oracle_curve([[3, 1], [2, 2]], [1, 2])
    [(1.0, 5), (1.5, 3)]
    """
    errors = np.asarray(errors, dtype=np.int64)
    costs = [int(c) for c in exit_layers]
    n = errors.shape[0]
    big = np.iinfo(np.int64).max // 4
    best = np.zeros(1, dtype=np.int64)  # best[b]: fewest errors at cost b
    for utt in range(n):
        new = np.full(best.shape[0] + max(costs), big, dtype=np.int64)
        for cost, err in zip(costs, errors[utt]):
            end = cost + best.shape[0]
            new[cost:end] = np.minimum(new[cost:end], best + err)
        best = new
    curve, lowest = [], None
    for total, err in enumerate(best):
        if err >= big:
            continue
        if lowest is None or err < lowest:
            curve.append((total / max(1, n), int(err)))
            lowest = err
    return curve


def overthinking(errors):
    """How often an earlier exit is strictly better than the last one.

    Arguments
    ---------
    errors : array-like
        ``[utterances, exits]`` word errors.

    Returns
    -------
    dict
        ``share``: fraction of utterances with an earlier exit strictly
        better than the last, ``utterances``: how many; ``errors_saved``:
        total errors the best exit saves against the last.

    Example
    -------
    >>> overthinking([[3, 1, 2], [2, 2, 2]])
    {'share': 0.5, 'utterances': 1, 'errors_saved': 1}
    """
    errors = np.asarray(errors)
    if errors.size == 0:
        return {"share": math.nan, "utterances": 0, "errors_saved": 0}
    last = errors[:, -1]
    best_earlier = errors[:, :-1].min(axis=1) if errors.shape[1] > 1 else last
    better = best_earlier < last
    return {
        "share": float(better.mean()),
        "utterances": int(better.sum()),
        "errors_saved": int((last - errors.min(axis=1)).sum()),
    }
