"""Early-exit CTC encoders: CTC heads after chosen layers of an encoder.

`EarlyExitEncoder` takes an `ASREncoder` (front end + any stack with
SpeechBrain's ``layers``/``norm`` layout: SpeechBrain's Conformer with
MHSA, our SummaryMixing Conformer or Branchformer) and attaches a CTC head
after each layer listed in ``exit_layers``. In training it returns every
exit's log-probabilities (the recipe sums their CTC losses, weighted by
`exit_loss_weights`); in inference (`EarlyExitEncoder.infer`) it runs the
layers one at a time through `speechbrain_ee.lobes.layer_loop` and, after
each exit, asks an exit strategy (`speechbrain_ee.decoding.exit_strategies`)
which utterances are done. Those leave the batch: the remaining layers are
never computed for them, which is where the saving comes from.

Each exit's head is: an optional adapter (the seed's SSL setting uses
Linear(d, d) and a feed-forward block), a LayerNorm (the last exit uses the
stack's own final ``norm``, so a model with one exit at the last layer is
the plain encoder), and the CTC linear layer (shared by all exits or one
per exit) with a log-softmax.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import List

import torch
from torch import nn

from speechbrain_ee.lobes.layer_loop import layered_stack, run_layers
from speechbrain_ee.nnet.exit_loop import exit_loop

LOSS_SCHEMES = ("sum", "mean", "depth", "final_weighted")


def exit_loss_weights(scheme, exit_layers, intermediate_weight=0.9):
    """The weight of each exit's CTC loss.

    Arguments
    ---------
    scheme : str or list of float
        ``sum``: 1 each (Wright et al., training from scratch); ``mean``:
        1 / number of exits; ``depth``: proportional to the exit's layer,
        summing to 1; ``final_weighted``: ``1 - w`` for the last exit and
        ``w`` shared equally by the others (the seed's SSL setting, w close
        to 1); or an explicit list, one weight per exit.
    exit_layers : list of int
        The exits' layers.
    intermediate_weight : float
        ``w`` of ``final_weighted``.

    Returns
    -------
    list of float

    Example
    -------
    >>> exit_loss_weights("depth", [2, 4, 6])
    [0.16666666666666666, 0.3333333333333333, 0.5]
    >>> exit_loss_weights("final_weighted", [2, 4, 6], 0.8)
    [0.4, 0.4, 0.19999999999999996]
    """
    n = len(exit_layers)
    if not isinstance(scheme, str):
        weights = [float(w) for w in scheme]
        if len(weights) != n:
            raise ValueError(
                f"exit_loss_weights has {len(weights)} weights for {n} "
                f"exits ({list(exit_layers)}): give one per exit."
            )
        return weights
    if scheme == "sum":
        return [1.0] * n
    if scheme == "mean":
        return [1.0 / n] * n
    if scheme == "depth":
        total = float(sum(exit_layers))
        return [layer / total for layer in exit_layers]
    if scheme == "final_weighted":
        if n == 1:
            return [1.0]
        share = intermediate_weight / (n - 1)
        return [share] * (n - 1) + [1.0 - intermediate_weight]
    raise ValueError(
        f"exit loss scheme {scheme!r}: expected one of {LOSS_SCHEMES} or a "
        "list of weights."
    )


@dataclass
class EarlyExitOutput:
    """What `EarlyExitEncoder.infer` returns."""

    log_probs: torch.Tensor
    """``[batch, time, vocab]``: each utterance's chosen exit (frames past
    its length are zeros)."""

    exit_positions: torch.Tensor
    """``[batch]``: index of the exit whose output was used."""

    layers_computed: torch.Tensor
    """``[batch]``: encoder layers computed for each utterance."""


class EarlyExitEncoder(nn.Module):
    """An `ASREncoder` with CTC heads after chosen layers.

    Arguments
    ---------
    encoder : speechbrain_ee.lobes.asr_encoder.ASREncoder
        Front end and encoder stack; the stack (``encoder.encoder``) must
        have ``layers`` and ``norm`` as SpeechBrain's encoders do.
    exit_layers : list of int
        1-based layers followed by an exit, increasing; the last one is
        usually the last layer (default: every layer).
    d_model : int
        Width of the stack.
    output_neurons : int
        CTC vocabulary (blank included).
    shared_head : bool
        One CTC linear layer for all exits (True) or one per exit.
    adapter : callable, optional
        ``adapter(d_model) -> nn.Module`` built once per exit and applied
        before the exit's norm (the seed's SSL heads); None: no adapter.

    Example
    -------
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> from speechbrain.lobes.models.transformer.Conformer import (
    ...     ConformerEncoder)
    >>> asr = ASREncoder(
    ...     ConformerEncoder(num_layers=4, d_model=32, d_ffn=64, nhead=4),
    ...     input_size=20, d_model=32)
    >>> model = EarlyExitEncoder(asr, exit_layers=[2, 4], d_model=32,
    ...                          output_neurons=10)
    >>> feats, lens = torch.rand(3, 40, 20), torch.tensor([1.0, 0.7, 0.5])
    >>> [lp.shape for lp in model(feats, lens)]
    [torch.Size([3, 40, 10]), torch.Size([3, 40, 10])]
    >>> from speechbrain_ee.decoding.exit_strategies import FixedExit
    >>> out = model.eval().infer(feats, lens, FixedExit(layer=2))
    >>> out.layers_computed.tolist(), out.log_probs.shape
    ([2, 2, 2], torch.Size([3, 40, 10]))
    """

    def __init__(
        self,
        encoder,
        exit_layers: List[int] = None,
        d_model: int = None,
        output_neurons: int = None,
        shared_head: bool = True,
        adapter=None,
    ):
        super().__init__()
        stack = layered_stack(encoder, "early exits")
        num_layers = len(stack.layers)
        exit_layers = list(exit_layers or range(1, num_layers + 1))
        if exit_layers != sorted(set(exit_layers)) or not (
            1 <= exit_layers[0] and exit_layers[-1] <= num_layers
        ):
            raise ValueError(
                f"exit_layers={exit_layers}: expected increasing layer "
                f"numbers between 1 and {num_layers} (the stack's layers)."
            )
        self.encoder = encoder
        self.exit_layers = exit_layers
        self.shared_head = shared_head
        last = num_layers
        self.exit_norms = nn.ModuleList(
            stack.norm if layer == last else nn.LayerNorm(d_model)
            for layer in exit_layers
        )
        self.adapters = None
        if adapter is not None:
            self.adapters = nn.ModuleList(adapter(d_model) for _ in exit_layers)
        n_heads = 1 if shared_head else len(exit_layers)
        self.ctc_heads = nn.ModuleList(
            nn.Linear(d_model, output_neurons) for _ in range(n_heads)
        )

    @property
    def layers(self):
        """The encoder stack's layers."""
        return self.encoder.encoder.layers

    @property
    def num_layers(self):
        """Number of layers in the stack."""
        return len(self.layers)

    def exit_log_probs(self, position, hidden):
        """CTC log-probabilities of exit ``position`` from its hidden states.

        Arguments
        ---------
        position : int
            Index of the exit (0 = shallowest).
        hidden : torch.Tensor
            ``[batch, time, d_model]`` output of the exit's layer.

        Returns
        -------
        torch.Tensor
            ``[batch, time, vocab]``.
        """
        if self.adapters is not None:
            hidden = self.adapters[position](hidden)
        hidden = self.exit_norms[position](hidden)
        head = self.ctc_heads[0 if self.shared_head else position]
        return torch.log_softmax(head(hidden), dim=-1)

    def forward(self, feats, wav_lens=None, dynchunktrain_config=None):
        """Every exit's CTC log-probabilities (training, analysis).

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Streaming configuration.

        Returns
        -------
        list of torch.Tensor
            ``[batch, time', vocab]`` per exit, shallowest first.
        """
        state = self.encoder.start_state(feats, wav_lens, dynchunktrain_config)
        outputs, done = [], 0
        for position, layer in enumerate(self.exit_layers):
            state = run_layers(self.layers, state, done, layer)
            done = layer
            outputs.append(self.exit_log_probs(position, state.x))
        return outputs

    def inference_variant(self, strategy):
        """``(call(feats, wav_lens), call_from_state(state))``: inference
        with one exit strategy, whole and from the front end's output (what
        `speechbrain_ee.analysis.timing.measure_speed` times).

        Arguments
        ---------
        strategy : speechbrain_ee.decoding.exit_strategies.ExitStrategy
            Decides after each exit.

        Returns
        -------
        tuple of callable
        """
        return (lambda feats, wav_lens: self.infer(feats, wav_lens, strategy),
                lambda state: self.infer_from_state(state, strategy))

    def forward_full(self, feats, wav_lens=None):
        """The full model: every layer, then the last exit's head only.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        torch.Tensor
            ``[batch, time', vocab]`` log-probabilities of the last exit.
        """
        return self.full_from_state(self.encoder.start_state(feats, wav_lens))

    def full_from_state(self, state):
        """`forward_full` from the front end's output
        (`ASREncoder.start_state`).

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.

        Returns
        -------
        torch.Tensor
            ``[batch, time', vocab]`` log-probabilities of the last exit.
        """
        state = run_layers(self.layers, state, 0, self.exit_layers[-1])
        return self.exit_log_probs(len(self.exit_layers) - 1, state.x)

    @torch.no_grad()
    def infer(self, feats, wav_lens, strategy):
        """Runs layer by layer; each utterance stops where ``strategy`` says.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor
            Relative lengths.
        strategy : speechbrain_ee.decoding.exit_strategies.ExitStrategy
            Decides after each exit.

        Returns
        -------
        EarlyExitOutput
        """
        return self.infer_from_state(self.encoder.start_state(feats, wav_lens), strategy)

    @torch.no_grad()
    def infer_from_state(self, state, strategy):
        """`infer` from the front end's output (`ASREncoder.start_state`).

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.
        strategy : speechbrain_ee.decoding.exit_strategies.ExitStrategy
            Decides after each exit: ``strategy.step`` gives, per utterance
            still running, the exit position to stop with, or a negative
            value (the strategies' ``CONTINUE``) to go on.

        Returns
        -------
        EarlyExitOutput
        """
        done = 0

        def compute(position, running):
            """The layers up to exit ``position``, on the rows still running."""
            nonlocal state, done
            if state.x.shape[0] != len(running):  # some stopped at the previous exit
                state = state.select_rows(torch.isin(state.rows, running.to(state.rows.device)))
            state = run_layers(self.layers, state, done, self.exit_layers[position])
            done = self.exit_layers[position]
            return self.exit_log_probs(position, state.x), state.lengths

        decisions = exit_loop(strategy, self.exit_layers, state.x.shape[0], compute,
                              collect=True)
        layers_computed = torch.tensor(self.exit_layers)[decisions.stopped]
        return EarlyExitOutput(decisions.log_probs, decisions.chosen, layers_computed)
