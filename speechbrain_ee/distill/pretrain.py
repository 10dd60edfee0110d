"""HuBERT-style pretraining of the built-in teacher (no HuBERT can be
downloaded here; spec ``distillation.md``, "Built-in teacher").

The first HuBERT iteration: k-means units of MFCC features are the
targets of masked prediction. `HuBERTPretrainer` is a ``transformers``
HuBERT model plus HuBERT's `CodewordHead`, with the attribute names of
`SSLTeacher`, so a pretraining checkpoint loads into the teacher as it is.

- `MFCCUnits`: 39-dim MFCC (13 + deltas) at a 20 ms hop, consecutive
  frames stacked to the teacher's frame rate;
- `LayerUnits`, `unit_features`: a layer of a previous iteration's model
  (HuBERT's later iterations) or MFCC;
- `kmeans` / `assign_units`: the units (k-means++ start, Lloyd steps);
- `masked_prediction_loss`: cross-entropy over the masked frames.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from speechbrain_ee.distill.hubert import (
    encoder_hidden_states,
    mask_with_embedding,
    waveform_features,
)


class MFCCUnits(nn.Module):
    """MFCC features for the k-means targets: 13 coefficients with deltas
    and delta-deltas at a 20 ms hop, mean/variance normalised per
    utterance; ``stack`` consecutive frames are concatenated, so that a
    model with a coarser frame rate (the built-in one: 40 ms) has one
    target per frame that still sees all its audio.

    Arguments
    ---------
    sample_rate : int
        Audio rate.
    hop_ms : float
        MFCC frame hop.
    stack : int
        MFCC frames per target frame (the model's frame rate over
        ``hop_ms``).

    Example
    -------
    >>> MFCCUnits()(torch.randn(2, 16000)).shape
    torch.Size([2, 51, 39])
    >>> MFCCUnits(stack=2)(torch.randn(2, 16000)).shape
    torch.Size([2, 25, 78])
    """

    def __init__(self, sample_rate=16000, hop_ms=20.0, stack=1):
        super().__init__()
        from speechbrain.lobes.features import MFCC

        if stack < 1:
            raise ValueError(f"mfcc_stack={stack}: give 1 or more MFCC "
                             "frames per target frame.")
        self.stack = stack
        self.mfcc = MFCC(deltas=True, context=False, sample_rate=sample_rate,
                         n_mfcc=13, n_mels=40, hop_length=hop_ms)

    @torch.no_grad()
    def forward(self, wavs, wav_lens=None):
        """``[batch, samples]`` -> ``[batch, frames, 39 * stack]``
        (``wav_lens``, taken for the interface of other unit features, is
        not needed)."""
        feats = self.mfcc(wavs)
        mean = feats.mean(dim=1, keepdim=True)
        std = feats.std(dim=1, keepdim=True).clamp(min=1e-5)
        feats = (feats - mean) / std
        frames = feats.shape[1] // self.stack
        return feats[:, : frames * self.stack].reshape(
            feats.shape[0], frames, -1)


class LayerUnits(nn.Module):
    """The features of HuBERT's later iterations: the hidden states of one
    layer of a model pretrained before (frozen), whose k-means units are
    the next model's targets.

    Arguments
    ---------
    teacher : SSLTeacher
        The previous iteration's model.
    layer : int
        Which hidden state (0: the input of layer 1; HuBERT Base's second
        iteration takes layer 6 of 12).

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import build_hubert
    >>> from speechbrain_ee.distill.teacher import SSLTeacher
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4)
    >>> LayerUnits(SSLTeacher(model), 1)(torch.randn(2, 16000)).shape
    torch.Size([2, 49, 32])
    """

    def __init__(self, teacher, layer):
        super().__init__()
        if not 0 <= layer <= teacher.num_layers:
            raise ValueError(f"units_layer={layer}: the model has layers 0 "
                             f"to {teacher.num_layers}.")
        self.teacher = teacher
        self.layer = layer

    @torch.no_grad()
    def forward(self, wavs, wav_lens=None):
        """``[batch, samples]`` -> ``[batch, frames, hidden]``."""
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0], device=wavs.device)
        return self.teacher(wavs, wav_lens).hidden_states[self.layer]


def unit_features(sample_rate=16000, units_from=None, units_layer=None,
                  config=None, mfcc_stack=1):
    """The features a pretraining run clusters into its targets: MFCC
    (HuBERT's first iteration) or, with ``units_from``, a layer of the
    model a previous iteration wrote (`LayerUnits`).

    Arguments
    ---------
    sample_rate : int
        Audio rate.
    units_from : str, optional
        The previous iteration's ``teacher.ckpt``.
    units_layer : int, optional
        Its layer to cluster.
    config : transformers.HubertConfig, optional
        Its architecture.
    mfcc_stack : int
        MFCC frames (20 ms) per model frame, for the first iteration
        (`MFCCUnits`).

    Returns
    -------
    torch.nn.Module
        ``(wavs, wav_lens) -> [batch, frames, D]``.

    Example
    -------
    >>> type(unit_features()).__name__
    'MFCCUnits'
    """
    if units_from is None:
        return MFCCUnits(sample_rate, stack=mfcc_stack)
    from speechbrain_ee.distill.hubert import build_hubert, load_weights
    from speechbrain_ee.distill.teacher import SSLTeacher

    if units_layer is None or config is None:
        raise ValueError("units_from needs units_layer and the model's "
                         "config.")
    model = build_hubert(config)
    load_weights(model, units_from, prefix="model.")
    return LayerUnits(SSLTeacher(model), units_layer)


def kmeans(features, num_clusters, iterations=30, seed=0):
    """k-means (k-means++ start, Lloyd iterations) of ``[N, D]`` features.

    Arguments
    ---------
    features : torch.Tensor
        ``[N, D]``.
    num_clusters : int
        k.
    iterations : int
        Lloyd steps.
    seed : int
        For the k-means++ draws.

    Returns
    -------
    torch.Tensor
        ``[k, D]`` centroids.

    Example
    -------
    >>> pts = torch.cat([torch.randn(50, 2) * 0.1, torch.randn(50, 2) * 0.1
    ...                  + 5])
    >>> centroids = kmeans(pts, 2).sort(dim=0).values
    >>> centroids.round().abs().tolist()
    [[0.0, 0.0], [5.0, 5.0]]
    """
    if features.shape[0] < num_clusters:
        raise ValueError(
            f"k-means: {features.shape[0]} frames for {num_clusters} "
            "clusters; use more audio or fewer clusters.")
    gen = torch.Generator().manual_seed(seed)
    features = features.float()
    first = torch.randint(features.shape[0], (1,), generator=gen)
    centroids = [features[first[0]]]
    dist = torch.cdist(features, centroids[0][None]).squeeze(1) ** 2
    for _ in range(1, num_clusters):
        pick = torch.multinomial(dist / dist.sum() if dist.sum() > 0 else
                                 torch.ones_like(dist), 1, generator=gen)
        centroids.append(features[pick[0]])
        dist = torch.minimum(
            dist, torch.cdist(features, features[pick]).squeeze(1) ** 2)
    centroids = torch.stack(centroids)
    for _ in range(iterations):
        labels = assign_units(features, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, features)
        counts = torch.bincount(labels, minlength=num_clusters)
        filled = counts > 0  # an empty cluster keeps its centroid
        centroids[filled] = sums[filled] / counts[filled, None].float()
    return centroids


def assign_units(features, centroids):
    """The nearest centroid of each ``[..., D]`` feature vector.

    Example
    -------
    >>> assign_units(torch.tensor([[0.1], [4.0]]),
    ...              torch.tensor([[0.0], [5.0]])).tolist()
    [0, 1]
    """
    flat = features.reshape(-1, features.shape[-1]).float()
    labels = torch.cdist(flat, centroids.float()).argmin(dim=1)
    return labels.reshape(features.shape[:-1])


@dataclass
class PretrainOutput:
    """What `HuBERTPretrainer` returns."""

    logits: torch.Tensor
    """``[batch, frames, K]`` codeword logits."""
    frame_mask: torch.Tensor
    masked: torch.Tensor
    """``[batch, frames]`` True where the input was masked."""


class HuBERTPretrainer(nn.Module):
    """A HuBERT model and its codeword head, for masked prediction.

    Arguments
    ---------
    model : transformers.HubertModel
        Built with ``mask_time_prob > 0`` (it then has
        ``masked_spec_embed``).
    codeword_head : CodewordHead
        The head over the k-means units.
    mask_prob : float
        See `mask_spans`.
    mask_length : int
        See `mask_spans`.

    Example
    -------
    >>> from speechbrain_ee.distill.hubert import CodewordHead, build_hubert
    >>> model = build_hubert(hidden_size=32, num_hidden_layers=2,
    ...                      num_attention_heads=4, intermediate_size=64,
    ...                      conv_dim=16, num_conv_pos_embeddings=8,
    ...                      num_conv_pos_embedding_groups=4)
    >>> pre = HuBERTPretrainer(model, CodewordHead(32, 16, 20))
    >>> out = pre(torch.randn(2, 16000), torch.tensor([1.0, 0.7]))
    >>> out.logits.shape, bool(out.masked.any())
    (torch.Size([2, 49, 20]), True)
    """

    def __init__(self, model, codeword_head, mask_prob=0.8, mask_length=10):
        super().__init__()
        self.model = model
        self.codeword_head = codeword_head
        self.mask_prob = mask_prob
        self.mask_length = mask_length

    def forward(self, wavs, wav_lens, mask=True):
        """Masks spans of the projected CNN features (``masked_spec_embed``)
        and predicts the codewords of every frame.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]``.
        wav_lens : torch.Tensor
            Relative lengths.
        mask : bool
            Mask the input (training and validation of the objective).

        Returns
        -------
        PretrainOutput
        """
        features, frame_mask = waveform_features(self.model, wavs, wav_lens)
        masked = torch.zeros_like(frame_mask)
        if mask:
            features, masked = mask_with_embedding(
                self.model, features, frame_mask, self.mask_prob,
                self.mask_length)
        states = encoder_hidden_states(self.model.encoder, features,
                                       frame_mask)
        return PretrainOutput(self.codeword_head(states[-1]), frame_mask,
                              masked)


def masked_prediction_loss(logits, units, masked, frame_mask,
                           unmasked_weight=0.0):
    """HuBERT's loss: cross-entropy against the units over the masked
    frames (plus ``unmasked_weight`` x that of the unmasked real frames).

    Arguments
    ---------
    logits : torch.Tensor
        ``[batch, frames, K]``.
    units : torch.Tensor
        ``[batch, frames]`` target units.
    masked : torch.Tensor
        ``[batch, frames]`` True where masked.
    frame_mask : torch.Tensor
        ``[batch, frames]`` True on real frames.
    unmasked_weight : float
        HuBERT's alpha complement (0 in HuBERT Base).

    Returns
    -------
    loss : torch.Tensor
    accuracy : torch.Tensor
        Of the masked frames.

    Example
    -------
    >>> logits = torch.tensor([[[9.0, 0.0], [0.0, 9.0]]])
    >>> loss, acc = masked_prediction_loss(
    ...     logits, torch.tensor([[0, 0]]), torch.tensor([[True, False]]),
    ...     torch.tensor([[True, True]]))
    >>> round(float(loss), 4), float(acc)
    (0.0001, 1.0)
    """
    ce = F.cross_entropy(logits.transpose(1, 2), units, reduction="none")
    on_masked = (masked & frame_mask).float()
    on_unmasked = (~masked & frame_mask).float()
    loss = (ce * on_masked).sum() / on_masked.sum().clamp(min=1)
    if unmasked_weight:
        loss = loss + unmasked_weight * (
            (ce * on_unmasked).sum() / on_unmasked.sum().clamp(min=1))
    correct = (logits.argmax(dim=-1) == units).float()
    accuracy = (correct * on_masked).sum() / on_masked.sum().clamp(min=1)
    return loss, accuracy
