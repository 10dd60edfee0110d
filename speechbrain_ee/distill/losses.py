"""Losses of SSL distillation (spec ``distillation.md``).

- `regression_loss`: DistilHuBERT's per-layer ``L1 + (-log sigmoid(cos))``
  between the student's predictions and the teacher's hidden layers;
- `discriminative_loss`: KL from the teacher's codeword distribution (its
  HuBERT head) to the student's, with a temperature;
- `frontend_loss`: stage 1 of the Fbank front-end algorithm, L1 between the
  projected front-end output and the teacher's first hidden state.

Every loss averages over the real frames only (``frame_mask``).

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import Dict

import torch
import torch.nn.functional as F


def masked_mean(values, frame_mask):
    """Mean of ``values [batch, time]`` over the frames where
    ``frame_mask`` is True.

    Example
    -------
    >>> masked_mean(torch.tensor([[1.0, 3.0, 100.0]]),
    ...             torch.tensor([[True, True, False]]))
    tensor(2.)
    """
    mask = frame_mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1)


@dataclass
class RegressionLoss:
    """What `regression_loss` returns."""

    loss: torch.Tensor
    """``w_l1 * l1 + w_cos * cos``, averaged over the predicted layers."""
    l1: torch.Tensor
    cos: torch.Tensor
    """Mean ``-log sigmoid(cos)``."""
    per_layer: Dict[int, torch.Tensor]
    """Teacher layer -> its ``l1 + cos`` term (weighted)."""


def regression_loss(predictions, targets, frame_mask, l1_weight=1.0,
                    cos_weight=1.0):
    """Per predicted teacher layer, ``mean L1(h_hat, h)`` (over real frames
    and dimensions) plus ``mean -log sigmoid(cos(h_hat, h))`` (over real
    frames); averaged over the layers.

    Arguments
    ---------
    predictions : dict
        Teacher layer -> the student's prediction ``[batch, time, dim]``.
    targets : dict or list
        Teacher layer -> the teacher's hidden state (same shape), or the
        teacher's list of hidden states indexed by layer.
    frame_mask : torch.Tensor
        ``[batch, time]`` True on real frames.
    l1_weight, cos_weight : float
        The two terms' weights.

    Returns
    -------
    RegressionLoss

    Example
    -------
    >>> h = torch.ones(1, 2, 4)
    >>> out = regression_loss({4: h}, {4: h}, torch.ones(1, 2).bool())
    >>> float(out.l1), round(float(out.cos), 4)  # -log sigmoid(1)
    (0.0, 0.3133)
    """
    l1_terms, cos_terms, per_layer = [], [], {}
    for layer, pred in predictions.items():
        target = targets[layer].to(pred.dtype)
        l1 = masked_mean((pred - target).abs().mean(dim=-1), frame_mask)
        cos = masked_mean(
            -F.logsigmoid(F.cosine_similarity(pred, target, dim=-1)),
            frame_mask)
        l1_terms.append(l1)
        cos_terms.append(cos)
        per_layer[layer] = l1_weight * l1 + cos_weight * cos
    l1 = torch.stack(l1_terms).mean()
    cos = torch.stack(cos_terms).mean()
    return RegressionLoss(l1_weight * l1 + cos_weight * cos, l1, cos,
                          per_layer)


def discriminative_loss(student_logits, teacher_logits, frame_mask,
                        temperature=1.0):
    """``KL(p_T || p_S)`` over the teacher's codewords, summed over
    codewords and averaged over real frames; both distributions are
    softmaxes of the logits divided by ``temperature``.

    Arguments
    ---------
    student_logits : torch.Tensor
        ``[batch, time, K]``.
    teacher_logits : torch.Tensor
        ``[batch, time, K]`` (the HuBERT head's cosine logits).
    frame_mask : torch.Tensor
        ``[batch, time]`` True on real frames.
    temperature : float
        The distillation temperature.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> logits = torch.randn(2, 3, 5)
    >>> float(discriminative_loss(logits, logits, torch.ones(2, 3).bool()))
    0.0
    """
    log_p_s = F.log_softmax(student_logits / temperature, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.to(log_p_s.dtype) / temperature,
                            dim=-1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1)
    return masked_mean(kl, frame_mask)


def frontend_loss(projected, teacher_input, frame_mask):
    """Stage 1 of the Fbank front-end algorithm: mean L1 between the
    projected front-end output and the teacher's ``hidden_states[0]``.

    Arguments
    ---------
    projected : torch.Tensor
        ``[batch, time, teacher_dim]``.
    teacher_input : torch.Tensor
        The teacher's first hidden state, same shape.
    frame_mask : torch.Tensor
        ``[batch, time]`` True on real frames.

    Returns
    -------
    torch.Tensor

    Example
    -------
    >>> x = torch.zeros(1, 2, 3)
    >>> float(frontend_loss(x, x + 2, torch.ones(1, 2).bool()))
    2.0
    """
    return masked_mean((projected - teacher_input).abs().mean(dim=-1),
                       frame_mask)
