"""What a self-supervised model learned, measured against the transcripts
(spec ``distillation.md``, "Built-in teacher"; HuBERT's unit analysis).

Every frame of the SSL model gets a character: a trained CTC run (any CTC
recipe run, e.g. the demo's) aligns each utterance to its transcript
(``torchaudio``'s CTC forced alignment), and a character covers the
frames from its alignment spike to the next one. Then:

- `unit_quality`: purity and phone-normalised mutual information (PNMI,
  here character-normalised) of discrete units against the characters, as
  HuBERT reports them for its k-means targets: the pretraining targets and
  k-means units of each layer;
- `linear_probe_cer`: per layer, a linear CTC layer trained on the frozen
  features of some training utterances and scored (greedy CER) on dev:
  how linearly readable the characters are at that depth.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List

import torch

from speechbrain_ee.distill.hubert import encoder_hidden_states, waveform_features


@dataclass
class ProbeData:
    """Frames of some utterances with their characters."""

    states: Dict[str, List[List[torch.Tensor]]] = field(default_factory=dict)
    """Per model, per layer (0: the input of layer 1), one ``[frames, D]``
    per utterance."""
    chars: List[torch.Tensor] = field(default_factory=list)
    """Per utterance, the character token of each frame (-1: before the
    first character)."""
    units: List[torch.Tensor] = field(default_factory=list)
    """Per utterance, the pretraining target unit of each frame."""
    tokens: List[torch.Tensor] = field(default_factory=list)
    """Per utterance, its transcript's tokens."""


def spike_fill(alignment, blank=0):
    """Frame labels from a CTC alignment: each emitted token labels the
    frames from its first frame to the next token's; frames before the
    first token get -1.

    Arguments
    ---------
    alignment : torch.Tensor
        ``[frames]`` token per frame (blank or a token, repeats allowed).
    blank : int
        The blank index.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> spike_fill(torch.tensor([0, 5, 5, 0, 7, 0, 0])).tolist()
    [-1, 5, 5, 5, 7, 7, 7]
    """
    labels = torch.full_like(alignment, -1)
    current = -1
    for t, token in enumerate(alignment.tolist()):
        if token != blank:
            current = token
        labels[t] = current
    return labels


def resample_labels(labels, frames):
    """Frame labels at another frame rate (nearest earlier frame).

    Example
    -------
    >>> resample_labels(torch.tensor([1, 2, 3]), 6).tolist()
    [1, 1, 2, 2, 3, 3]
    """
    index = (torch.arange(frames) * len(labels)) // max(frames, 1)
    return labels[index.clamp(max=len(labels) - 1)]


def unit_quality(units, chars, num_units=None):
    """Purity and mutual information of discrete units against characters
    (HuBERT's phone purity, cluster purity and PNMI, over characters).

    Arguments
    ---------
    units : torch.Tensor
        ``[frames]`` unit ids.
    chars : torch.Tensor
        ``[frames]`` character ids (frames with -1 are left out).
    num_units : int, optional
        Number of units (default: the largest id + 1).

    Returns
    -------
    dict
        ``char_purity`` (each character's most frequent unit),
        ``unit_purity`` (each unit's most frequent character), ``pnmi``
        (I(char; unit) / H(char)) and ``frames``.

    Example
    -------
    >>> q = unit_quality(torch.tensor([0, 0, 1, 1]), torch.tensor([3, 3, 4, 4]))
    >>> q["unit_purity"], q["char_purity"], round(q["pnmi"], 3)
    (1.0, 1.0, 1.0)
    """
    keep = chars >= 0
    units, chars = units[keep].long(), chars[keep].long()
    num_units = num_units or int(units.max()) + 1
    num_chars = int(chars.max()) + 1
    joint = torch.zeros(num_units, num_chars, dtype=torch.float64)
    joint.index_put_((units, chars), torch.ones(len(units), dtype=torch.float64),
                     accumulate=True)
    total = joint.sum()
    p = joint / total
    p_unit, p_char = p.sum(1, keepdim=True), p.sum(0, keepdim=True)
    nonzero = p > 0
    mutual = float((p[nonzero] * (p / (p_unit @ p_char))[nonzero].log()).sum())
    char_entropy = -float((p_char[p_char > 0] * p_char[p_char > 0].log()).sum())
    return {"char_purity": float(joint.max(0).values.sum() / total),
            "unit_purity": float(joint.max(1).values.sum() / total),
            "pnmi": mutual / char_entropy if char_entropy > 0 else math.nan,
            "frames": int(total)}


@torch.no_grad()
def collect(models, aligner, batches, unit_features=None, centroids=None):
    """Hidden states of some models, and the characters and target units
    of the same frames (aligned once for all models).

    Arguments
    ---------
    models : dict
        Name -> SSL model (``transformers`` HuBERT/wav2vec2, eval mode),
        all with the same front end (the same frames).
    aligner : callable
        ``(wavs, wav_lens) -> [batch, frames, tokens]`` CTC log-probabilities
        of a trained CTC model (with its own features).
    batches : iterable
        ``(wavs, wav_lens, token lists)``.
    unit_features : callable, optional
        The pretraining targets' features (``(wavs, wav_lens) -> [batch,
        frames, D]``); with ``centroids``, `ProbeData.units` is filled.
    centroids : torch.Tensor, optional
        Their k-means centroids.

    Returns
    -------
    ProbeData
    """
    import torchaudio.functional as F

    from speechbrain_ee.distill.pretrain import assign_units

    data = ProbeData()
    for wavs, wav_lens, token_lists in batches:
        frames = None
        for name, model in models.items():
            features, frame_mask = waveform_features(model, wavs, wav_lens)
            states = encoder_hidden_states(model.encoder, features, frame_mask)
            lengths = frame_mask.sum(dim=1).tolist()
            if frames is not None and lengths != frames:
                raise ValueError(f"{name}: other frames than the first model; "
                                 "compare models with the same front end.")
            frames = lengths
            layers = data.states.setdefault(name, [[] for _ in states])
            for layer, state in enumerate(states):
                layers[layer].extend(state[i, :n].float()
                                     for i, n in enumerate(frames))
        log_probs = aligner(wavs, wav_lens)
        align_lens = torch.round(wav_lens * log_probs.shape[1]).long()
        for i, tokens in enumerate(token_lists):
            targets = torch.tensor([tokens])
            path, _ = F.forced_align(log_probs[i:i + 1, :align_lens[i]].float(),
                                     targets, blank=0)
            data.chars.append(resample_labels(spike_fill(path[0]), frames[i]))
            data.tokens.append(targets[0])
        if centroids is not None:
            units = assign_units(unit_features(wavs, wav_lens), centroids)
            data.units.extend(units[i, :n] for i, n in enumerate(frames))
    return data


def fit_linear_probe(states, tokens, vocab, steps=300, lr=0.01, batch=16,
                     seed=0):
    """A linear CTC layer on frozen features.

    Arguments
    ---------
    states : list of torch.Tensor
        ``[frames, D]`` per utterance.
    tokens : list of torch.Tensor
        Transcript tokens per utterance.
    vocab : int
        Output size (the blank is 0).
    steps : int
        Adam steps.
    lr : float
        Learning rate.
    batch : int
        Utterances per step.
    seed : int
        Batch draws and initialisation.

    Returns
    -------
    torch.nn.Linear
    """
    from torch.nn.utils.rnn import pad_sequence

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    probe = torch.nn.Linear(states[0].shape[1], vocab)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        pick = torch.randint(len(states), (min(batch, len(states)),), generator=gen)
        x = pad_sequence([states[i] for i in pick], batch_first=True)
        y = pad_sequence([tokens[i] for i in pick], batch_first=True)
        x_lens = torch.tensor([len(states[i]) for i in pick])
        y_lens = torch.tensor([len(tokens[i]) for i in pick])
        log_probs = probe(x).log_softmax(-1).transpose(0, 1)
        loss = torch.nn.functional.ctc_loss(log_probs, y, x_lens, y_lens,
                                            zero_infinity=True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return probe


@torch.no_grad()
def probe_cer(probe, states, tokens, decode):
    """Greedy CER (%) of a probe.

    Arguments
    ---------
    probe : torch.nn.Module
        Features -> logits.
    states, tokens : list of torch.Tensor
        As `fit_linear_probe`'s.
    decode : callable
        Token ids -> text.

    Returns
    -------
    float
    """
    import jiwer

    refs, hyps = [], []
    for x, y in zip(states, tokens):
        best = probe(x).argmax(-1)
        best = torch.unique_consecutive(best)
        hyps.append(decode(best[best != 0].tolist()))
        refs.append(decode(y.tolist()))
    return 100 * jiwer.cer(refs, [h if h else " " for h in hyps])
