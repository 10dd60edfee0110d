"""CTC output layers: the plain softmax and the factorised blank output.

The factorised output (Hou et al., "CTC Blank Triggered Dynamic
Layer-Skipping", ASRU 2023) splits the CTC distribution into a blank
detector ``b_t = sigmoid(z_blank)`` and a distribution over the non-blank
tokens ``r_t = softmax(z_tokens)``::

    p(blank) = b_t,    p(v) = (1 - b_t) * r_t(v)   for v != blank

so the blank decision is a separate output that a threshold can be set on.
It uses the same logits as a plain CTC layer (one linear layer over the
whole vocabulary: the blank row is the detector ``w_b``, the other rows are
``W_r``), so a factorised head and a plain head have the same parameters.
The plain softmax is the special case ``z_blank = z_0 - logsumexp(z_v)``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import torch
from torch import nn
from torch.nn import functional as F


def factorized_log_softmax(logits, blank_index=0):
    """Log-probabilities of the factorised CTC output.

    Arguments
    ---------
    logits : torch.Tensor
        ``[..., vocab]``: ``logits[..., blank_index]`` is the blank
        detector's logit, the others the non-blank tokens' logits.
    blank_index : int
        Position of the blank in the vocabulary.

    Returns
    -------
    torch.Tensor
        ``[..., vocab]`` log-probabilities: ``log sigmoid(z_blank)`` at the
        blank, ``log(1 - sigmoid(z_blank)) + log_softmax(z_tokens)``
        elsewhere.

    Example
    -------
    >>> logits = torch.tensor([[0.0, 1.0, 1.0]])
    >>> factorized_log_softmax(logits).exp()  # blank 0.5, the rest shared
    tensor([[0.5000, 0.2500, 0.2500]])
    """
    vocab = logits.shape[-1]
    if vocab < 2:
        raise ValueError(
            f"the factorised CTC output needs a blank and at least one "
            f"token; got a vocabulary of {vocab}: raise output_neurons."
        )
    if not -vocab <= blank_index < vocab:
        raise ValueError(
            f"blank_index={blank_index} is outside the vocabulary of "
            f"{vocab}: set blank_index to the CTC blank's id."
        )
    blank_index %= vocab
    is_blank = torch.arange(vocab, device=logits.device) == blank_index
    blank_logit = logits[..., blank_index : blank_index + 1]
    tokens = F.log_softmax(logits.masked_fill(is_blank, float("-inf")), -1)
    return torch.where(
        is_blank,
        F.logsigmoid(blank_logit),
        tokens + F.logsigmoid(-blank_logit),
    )


class FactorizedLogSoftmax(nn.Module):
    """`factorized_log_softmax` as a module: a drop-in replacement of
    SpeechBrain's ``Softmax(apply_log=True)`` after a CTC linear layer.

    Arguments
    ---------
    blank_index : int
        Position of the blank in the vocabulary.

    Example
    -------
    >>> act = FactorizedLogSoftmax(blank_index=0)
    >>> act(torch.randn(2, 5, 8)).exp().sum(-1).allclose(torch.ones(2, 5))
    True
    """

    def __init__(self, blank_index=0):
        super().__init__()
        self.blank_index = blank_index

    def forward(self, logits):
        """Log-probabilities ``[..., vocab]`` from logits ``[..., vocab]``."""
        return factorized_log_softmax(logits, self.blank_index)


class CTCHead(nn.Module):
    """A CTC output layer: linear layer, then a plain or factorised
    log-softmax.

    Arguments
    ---------
    input_size : int
        Width of the hidden states.
    output_neurons : int
        CTC vocabulary, blank included.
    factorized : bool
        ``True``: blank sigmoid + non-blank softmax
        (`factorized_log_softmax`); ``False``: plain log-softmax.
    blank_index : int
        Position of the blank (used when ``factorized``).

    Example
    -------
    >>> head = CTCHead(16, 10, factorized=True)
    >>> log_probs = head(torch.rand(2, 7, 16))
    >>> log_probs.shape
    torch.Size([2, 7, 10])
    """

    def __init__(self, input_size, output_neurons, factorized=False,
                 blank_index=0):
        super().__init__()
        self.linear = nn.Linear(input_size, output_neurons)
        self.factorized = factorized
        self.blank_index = blank_index
        if factorized:  # checks the vocabulary and the blank once
            factorized_log_softmax(torch.zeros(output_neurons), blank_index)

    def forward(self, hidden):
        """Log-probabilities ``[..., vocab]`` from ``[..., input_size]``."""
        logits = self.linear(hidden)
        if self.factorized:
            return factorized_log_softmax(logits, self.blank_index)
        return F.log_softmax(logits, dim=-1)
