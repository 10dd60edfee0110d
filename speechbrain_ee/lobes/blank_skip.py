"""CTC blank-triggered layer skipping: the last encoder layers run only on
the frames that an intermediate CTC head does not call blank.

`BlankSkipEncoder` takes an `ASREncoder` (front end + any stack laid out as
SpeechBrain's, with ``layers`` and ``norm``: SpeechBrain's Conformer with
MHSA, our SummaryMixing Conformer or Branchformer) of L layers and attaches
an intermediate CTC head after layer K (Hou et al., "CTC Blank Triggered
Dynamic Layer-Skipping for Efficient CTC-based Speech Recognition", ASRU
2023; the spec is ``../shared/specs/blank_skip.md``):

1. layers 1..K run on every frame; the intermediate head gives
   ``p_t^in``;
2. the frames with ``p_t^in(blank) > threshold`` are skipped, except those
   within ``spike_width`` frames of a frame whose greedy intermediate label
   is not blank (spike extension, `blank_skip_mask`);
3. the kept frames of each utterance are packed into a shorter sequence
   with its own padding mask (`EncoderState.select_frames` of
   `speechbrain_ee.lobes.layer_loop`, the loop shared with the early-exit
   encoder) and only they go through layers K+1..L and the final head: the
   skipped frames are never computed there, which is where time is saved;
4. the final posteriors are scattered back; a skipped frame takes the
   intermediate posteriors (``skipped_output="intermediate"``, default) or
   a certain blank (``"blank"``). ``threshold=None`` (or 1.0) is the full
   model: every frame runs every layer.

Both heads can use the factorised CTC output (blank sigmoid + non-blank
softmax, `speechbrain_ee.nnet.ctc_head`). Training adds
``lambda_int * CTC(intermediate)`` and ``lambda_kd * KD``, with
`distillation_loss` the per-frame KL(stop-grad final || intermediate); the
recipe (``recipes/LibriSpeech/ASR/CTC``) sums them and switches skipping on
in training after a warm-up.

*Working definitions* (the paper could not be read in full; swappable):
spike extension (`blank_skip_mask`, pass another ``skip_rule``), the KD
term on the frames the final layers computed (`distillation_loss`, the
recipe's ``kd_cost``), and skipping in training after a warm-up.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import List

import torch
from torch import nn
from torch.nn import functional as F

from speechbrain_ee.lobes.layer_loop import layered_stack, run_layers
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
    come from the final layers (`BlankSkipOutput.computed`); a skipped frame
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


@dataclass
class BlankSkipOutput:
    """What `BlankSkipEncoder` returns.

    Example
    -------
    >>> out = BlankSkipOutput(
    ...     log_probs=[torch.zeros(1, 4, 3)] * 2,
    ...     skipped=torch.tensor([[True, False, True, False]]),
    ...     padding=torch.tensor([[False, False, False, True]]))
    >>> out.skipped_frames, out.real_frames, out.computed.int().tolist()
    (2, 3, [[0, 1, 0, 0]])
    """

    log_probs: List[torch.Tensor]
    """``[intermediate, final]``, each ``[batch, time, vocab]``: the
    intermediate head's and the model's output (the final head on the kept
    frames, the skipped frames' output elsewhere)."""

    skipped: torch.Tensor
    """``[batch, time]`` bool: real frames that skipped the last layers."""

    padding: torch.Tensor
    """``[batch, time]`` bool, True where padded."""

    @property
    def computed(self):
        """``[batch, time]`` bool: real frames the last layers computed."""
        return ~self.padding & ~self.skipped

    @property
    def skipped_frames(self):
        """Number of skipped frames in the batch."""
        return int(self.skipped.sum())

    @property
    def real_frames(self):
        """Number of real (not padded) frames in the batch."""
        return int((~self.padding).sum())


class BlankSkipEncoder(nn.Module):
    """An `ASREncoder` whose last layers skip the frames that an
    intermediate CTC head calls blank.

    Arguments
    ---------
    encoder : speechbrain_ee.lobes.asr_encoder.ASREncoder
        Front end and encoder stack; the stack (``encoder.encoder``) must
        have ``layers`` and ``norm`` as SpeechBrain's encoders do, and full
        context (no causal or chunked attention mask).
    skip_layer : int
        K: the 1-based layer followed by the intermediate head; layers
        K+1..L run on the kept frames only.
    d_model : int
        Width of the stack.
    output_neurons : int
        CTC vocabulary (blank included).
    blank_index : int
        The CTC blank.
    factorized_intermediate : bool
        Factorised CTC output (blank sigmoid + non-blank softmax) at the
        intermediate head.
    factorized_final : bool
        Factorised CTC output at the final head (``False``: plain softmax,
        so that ``threshold=None`` is the plain CTC model).
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
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> from speechbrain_ee.lobes.summary_mixing_encoders import (
    ...     SummaryMixingConformerEncoder)
    >>> asr = ASREncoder(
    ...     SummaryMixingConformerEncoder(num_layers=3, d_model=32, d_ffn=64,
    ...                                   nhead=4),
    ...     input_size=20, d_model=32, positional_encoding="none")
    >>> model = BlankSkipEncoder(asr, skip_layer=2, d_model=32,
    ...                          output_neurons=10).eval()
    >>> feats, lens = torch.rand(3, 40, 20), torch.tensor([1.0, 0.7, 0.5])
    >>> out = model(feats, lens, threshold=0.0, spike_width=None)
    >>> [lp.shape for lp in out.log_probs]
    [torch.Size([3, 40, 10]), torch.Size([3, 40, 10])]
    >>> out.skipped_frames == out.real_frames  # threshold 0: all skipped
    True
    >>> full = model(feats, lens)  # no threshold: the full model
    >>> full.skipped_frames
    0
    """

    def __init__(
        self,
        encoder,
        skip_layer: int,
        d_model: int,
        output_neurons: int,
        blank_index: int = 0,
        factorized_intermediate: bool = True,
        factorized_final: bool = False,
        skipped_output: str = "intermediate",
        skip_rule=None,
    ):
        super().__init__()
        stack = layered_stack(encoder, "blank skip")
        num_layers = len(stack.layers)
        if not 1 <= skip_layer < num_layers:
            raise ValueError(
                f"skip_layer={skip_layer}: expected a layer between 1 and "
                f"{num_layers - 1} (the stack has {num_layers} layers; at "
                "least one must follow the intermediate head)."
            )
        if skipped_output not in SKIPPED_OUTPUTS:
            raise ValueError(
                f"skipped_output={skipped_output!r}: expected one of "
                f"{SKIPPED_OUTPUTS}."
            )
        self.encoder = encoder
        self.skip_layer = skip_layer
        self.blank_index = blank_index
        self.skipped_output = skipped_output
        self.skip_rule = skip_rule or blank_skip_mask
        self.intermediate_norm = nn.LayerNorm(d_model)
        self.intermediate_head = CTCHead(
            d_model, output_neurons, factorized_intermediate, blank_index
        )
        self.final_head = CTCHead(
            d_model, output_neurons, factorized_final, blank_index
        )

    @property
    def layers(self):
        """The encoder stack's layers."""
        return self.encoder.encoder.layers

    @property
    def num_layers(self):
        """L: number of layers in the stack."""
        return len(self.layers)

    @property
    def exit_layers(self):
        """``[K, L]``: the layers of the two CTC heads (as an early-exit
        model's exits)."""
        return [self.skip_layer, self.num_layers]

    def intermediate_log_probs(self, hidden):
        """The intermediate head on the output of layer K."""
        return self.intermediate_head(self.intermediate_norm(hidden))

    def final_log_probs(self, hidden):
        """The final head (the stack's own norm first) on the output of
        layer L."""
        return self.final_head(self.encoder.encoder.norm(hidden))

    def forward(self, feats, wav_lens=None, threshold=None, spike_width=None):
        """Both heads' CTC log-probabilities, skipping blank frames.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.
        threshold : float, optional
            Skip the frames with intermediate ``p(blank) > threshold``;
            ``None``: skip nothing (the full model).
        spike_width : int, optional
            Spike extension (see `blank_skip_mask`); ``None``: none.

        Returns
        -------
        BlankSkipOutput
        """
        return self.from_state(self.encoder.start_state(feats, wav_lens), threshold,
                               spike_width)

    def from_state(self, state, threshold=None, spike_width=None):
        """`forward` from the front end's output (`ASREncoder.start_state`).

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.
        threshold : float, optional
            See `forward`.
        spike_width : int, optional
            See `forward`.

        Returns
        -------
        BlankSkipOutput
        """
        state = run_layers(self.layers, state, 0, self.skip_layer)
        return self.skip_and_finish(state, threshold, spike_width)

    def skip_and_finish(self, state, threshold=None, spike_width=None):
        """From the batch after layer K: the intermediate head, the skip
        decision, layers K+1..L on the kept frames and the final head.

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch after layer K (no frame dropped yet).
        threshold : float, optional
            See `forward`.
        spike_width : int, optional
            See `forward`.

        Returns
        -------
        BlankSkipOutput
        """
        intermediate = self.intermediate_log_probs(state.x)
        padding = state.src_key_padding_mask
        if threshold is None:
            skipped = torch.zeros_like(padding)
        else:
            skipped = self.skip_rule(
                intermediate.detach(), padding, threshold, spike_width,
                self.blank_index,
            )
        if self.skipped_output == "intermediate":
            template = intermediate
        else:
            template = torch.full_like(intermediate, BLANK_FLOOR)
            template[..., self.blank_index] = 0.0
        final = self.run_kept(state, skipped, template)
        return BlankSkipOutput([intermediate, final], skipped, padding)

    def run_kept(self, state, skipped, template):
        """Layers K+1..L and the final head on the frames not skipped.

        The kept frames of each utterance are packed into a shorter
        sequence (`EncoderState.select_frames`); utterances with no kept
        frame leave the batch; the results are scattered back into the
        original frame layout (`EncoderState.scatter_frames`).

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch after layer K.
        skipped : torch.Tensor
            ``[batch, time]`` bool: the frames to skip.
        template : torch.Tensor
            ``[batch, time, vocab]``: the output of the skipped frames.

        Returns
        -------
        torch.Tensor
            ``[batch, time, vocab]`` final log-probabilities.
        """
        start, stop = self.skip_layer, self.num_layers
        if not bool(skipped.any()):  # exactly the full model
            state = run_layers(self.layers, state, start, stop)
            return self.final_log_probs(state.x)
        packed = state.select_frames(~skipped)
        busy = packed.lengths > 0
        if not bool(busy.any()):
            return template
        index = busy.nonzero(as_tuple=True)[0]
        if not bool(busy.all()):
            packed = packed.select_rows(busy)
        packed = run_layers(self.layers, packed, start, stop)
        values = self.final_log_probs(packed.x).to(template.dtype)
        rows = packed.scatter_frames(values, template[index])
        return template.index_copy(0, index, rows)

    def inference_variant(self, threshold=None, spike_width=None):
        """``(call(feats, wav_lens), call_from_state(state))``: inference
        at one skip setting, whole and from the front end's output (what
        `speechbrain_ee.analysis.timing.measure_speed` times).

        Arguments
        ---------
        threshold : float, optional
            See `forward`.
        spike_width : int, optional
            See `forward`.

        Returns
        -------
        tuple of callable
        """
        return (lambda feats, wav_lens: self(feats, wav_lens, threshold, spike_width),
                lambda state: self.from_state(state, threshold, spike_width))

    def forward_full(self, feats, wav_lens=None):
        """The plain model (the speed reference): every layer on every
        frame, then the final head only.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        torch.Tensor
            ``[batch, time', vocab]`` final log-probabilities.
        """
        return self.full_from_state(self.encoder.start_state(feats, wav_lens))

    def full_from_state(self, state):
        """`forward_full` from the front end's output.

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.

        Returns
        -------
        torch.Tensor
            ``[batch, time', vocab]`` final log-probabilities.
        """
        state = run_layers(self.layers, state, 0, self.num_layers)
        return self.final_log_probs(state.x)
