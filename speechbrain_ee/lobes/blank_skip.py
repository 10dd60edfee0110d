"""CTC blank-triggered layer skipping: the last encoder layers run only on
the frames that an intermediate CTC head does not call blank.

Hou et al., "CTC Blank Triggered Dynamic Layer-Skipping for Efficient
CTC-based Speech Recognition", ASRU 2023; the spec is
``../shared/specs/blank_skip.md``. With `BlankSkipStage` after layer K of
`speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder` (any stack laid out as
SpeechBrain's: Conformer with MHSA, our SummaryMixing Conformer or
Branchformer):

1. layers 1..K run on every frame; the intermediate head gives
   ``p_t^in``;
2. the frames with ``p_t^in(blank) > threshold`` are skipped, except those
   within ``spike_width`` frames of a frame whose greedy intermediate label
   is not blank (spike extension, `blank_skip_mask`);
3. the kept frames of each utterance are packed into a shorter sequence
   with its own padding mask (`EncoderState.select_frames` of
   `speechbrain_ee.lobes.layer_loop`) and only they go through layers
   K+1..L and the later heads: the skipped frames are never computed there,
   which is where time is saved;
4. the later heads' posteriors are scattered back; a skipped frame takes
   the intermediate posteriors (``skipped_output="intermediate"``, default)
   or a certain blank (``"blank"``). ``threshold=None`` (or 1.0) is the
   full model: every frame runs every layer.

The intermediate head can use the factorised CTC output (blank sigmoid +
non-blank softmax, `speechbrain_ee.nnet.ctc_head`). Training adds
``lambda_int * CTC(intermediate)`` and ``lambda_kd * KD``, with
`distillation_loss` the per-frame KL(stop-grad final || intermediate); the
recipe (``recipes/LibriSpeech/ASR/CTC``) switches skipping on in training
after a warm-up.

*Working definitions* (the paper could not be read in full; swappable):
spike extension (`blank_skip_mask`, pass another ``skip_rule``), the KD
term on the frames the final layers computed (`distillation_loss`), and
skipping in training after a warm-up.

Authors
-------
* speechbrain-ee contributors 2026
"""

import torch
from torch import nn
from torch.nn import functional as F

from speechbrain_ee.nnet.ctc_head import CTCHead

SKIPPED_OUTPUTS = ("intermediate", "blank")

BLANK_FLOOR = -1e4
"""Log-probability of the non-blank tokens of a frame emitted as blank
(finite, so that the CTC loss and the distillation stay finite)."""


def blank_skip_mask(log_probs, padding, threshold, spike_width=1,
                    blank_index=0):
    """The real frames to skip: blank probability above ``threshold``,
    away from the spikes.

    *Working definition* of the spike extension: a frame within
    ``spike_width`` frames of a frame whose greedy label is not blank (that
    frame included) is never skipped.

    Arguments
    ---------
    log_probs : torch.Tensor
        ``[batch, time, vocab]`` intermediate CTC log-probabilities.
    padding : torch.Tensor
        ``[batch, time]``, True where padded (never skipped: not real).
    threshold : float
        In ``[0, 1]``; a frame is skipped when ``p(blank) > threshold``
        (1.0: nothing is skipped).
    spike_width : int or None
        ``w >= 0`` of the spike extension; ``None``: no spike extension.
    blank_index : int
        The CTC blank.

    Returns
    -------
    torch.Tensor
        ``[batch, time]`` bool, True for the frames to skip.

    Example
    -------
    >>> p_blank = torch.tensor([[0.99, 0.99, 0.1, 0.99, 0.99, 0.99]])
    >>> log_probs = torch.stack([p_blank, 1 - p_blank], -1).log()
    >>> padding = torch.zeros(1, 6, dtype=torch.bool)
    >>> blank_skip_mask(log_probs, padding, 0.9, None).int().tolist()
    [[1, 1, 0, 1, 1, 1]]
    >>> blank_skip_mask(log_probs, padding, 0.9, 1).int().tolist()
    [[1, 0, 0, 0, 1, 1]]
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(
            f"blank-skip threshold={threshold}: expected a probability in "
            "[0, 1] (1.0 skips nothing)."
        )
    real = ~padding
    skip = (log_probs[..., blank_index].exp() > threshold) & real
    if spike_width is None:
        return skip
    if spike_width < 0:
        raise ValueError(
            f"spike_width={spike_width}: expected an integer >= 0 (frames "
            "kept on each side of a non-blank frame) or None (no spike "
            "extension)."
        )
    spikes = (log_probs.argmax(dim=-1) != blank_index) & real
    near = F.max_pool1d(
        spikes.unsqueeze(1).to(log_probs.dtype),
        kernel_size=2 * spike_width + 1,
        stride=1,
        padding=spike_width,
    ).squeeze(1) > 0
    return skip & ~near


def distillation_loss(intermediate, final, mask):
    """Per-frame KL(stop-grad final || intermediate), averaged over the
    frames of ``mask``.

    *Working definition*: ``mask`` is the frames whose final posteriors
    come from the final layers (not skipped, not padding); a skipped frame
    has no final-layer posteriors to learn from.

    Arguments
    ---------
    intermediate : torch.Tensor
        ``[batch, time, vocab]`` log-probabilities of the intermediate head
        (the student).
    final : torch.Tensor
        ``[batch, time, vocab]`` log-probabilities of the final head (the
        teacher; no gradient flows into it).
    mask : torch.Tensor
        ``[batch, time]`` bool: the frames to average over.

    Returns
    -------
    torch.Tensor
        Scalar; 0 when ``mask`` is empty.

    Example
    -------
    >>> lp = torch.log_softmax(torch.randn(2, 4, 5), -1)
    >>> mask = torch.ones(2, 4, dtype=torch.bool)
    >>> float(distillation_loss(lp, lp, mask))
    0.0
    >>> float(distillation_loss(lp, lp.flip(1), mask)) > 0
    True
    """
    target = final.detach()
    p = target.exp()
    kl = torch.where(p > 0, p * (target - intermediate), 0.0).sum(dim=-1)
    mask = mask.to(kl.dtype)
    return (kl * mask).sum() / mask.sum().clamp(min=1.0)


class BlankSkipStage(nn.Module):
    """The blank-skip stage after layer K: an intermediate CTC head, and
    the decision of which frames skip the layers after it.

    `speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder` runs it after layer
    ``skip_layer`` and packs the kept frames for the later layers
    (`EncoderState.select_frames`); a skipped frame's output in every later
    head is `template` (its intermediate posteriors, or a certain blank).

    Arguments
    ---------
    d_model : int
        Width of the stack.
    output_neurons : int
        CTC vocabulary (blank included).
    blank_index : int
        The CTC blank.
    factorized : bool
        Factorised CTC output (blank sigmoid + non-blank softmax) at the
        intermediate head.
    skipped_output : str
        Output of a skipped frame: ``"intermediate"`` (its intermediate
        posteriors, default) or ``"blank"`` (a certain blank). With
        ``threshold >= 0.5`` a skipped frame's intermediate posteriors are
        blank-dominated, so greedy decoding gives the same result for both.
    skip_rule : callable, optional
        ``skip_rule(log_probs, padding, threshold, spike_width,
        blank_index) -> [batch, time] bool``; default `blank_skip_mask`.

    Example
    -------
    >>> stage = BlankSkipStage(16, 6)
    >>> lp = stage.log_probs(torch.rand(2, 5, 16))
    >>> padding = torch.zeros(2, 5, dtype=torch.bool)
    >>> stage.decide(lp, padding, 0.0, None).all().item()  # threshold 0: all
    True
    >>> stage.decide(lp, padding, None, None).any().item()  # None: none
    False
    """

    def __init__(self, d_model, output_neurons, blank_index=0, factorized=True,
                 skipped_output="intermediate", skip_rule=None):
        super().__init__()
        if skipped_output not in SKIPPED_OUTPUTS:
            raise ValueError(
                f"skipped_output={skipped_output!r}: expected one of "
                f"{SKIPPED_OUTPUTS}."
            )
        self.blank_index = blank_index
        self.skipped_output = skipped_output
        self.skip_rule = skip_rule or blank_skip_mask
        self.intermediate_norm = nn.LayerNorm(d_model)
        self.intermediate_head = CTCHead(d_model, output_neurons, factorized,
                                         blank_index)

    def log_probs(self, hidden):
        """The intermediate head on the output of layer K."""
        return self.intermediate_head(self.intermediate_norm(hidden))

    def decide(self, log_probs, padding, threshold, spike_width):
        """``[batch, time]`` bool: the frames to skip (none when
        ``threshold`` is None)."""
        if threshold is None:
            return torch.zeros_like(padding)
        return self.skip_rule(log_probs.detach(), padding, threshold,
                              spike_width, self.blank_index)

    def template(self, log_probs):
        """The output of the skipped frames in every later head."""
        if self.skipped_output == "intermediate":
            return log_probs
        template = torch.full_like(log_probs, BLANK_FLOOR)
        template[..., self.blank_index] = 0.0
        return template
