"""Dynamic CTC encoders: early exits, CTC blank skipping, or both, in one
layer loop.

`DynamicCTCEncoder` takes an encoder with SpeechBrain's layout
(``start_state``, ``layers``, ``norm``): an `ASREncoder` (front end + SpeechBrain's
Conformer with MHSA, our SummaryMixing Conformer or Branchformer), or an
encoder around a HuBERT/wav2vec2 Transformer (the SSL encoder, a distilled
student, a routed model: `speechbrain_ee.distill.hubert.TransformerLayerLoop`),
frozen or not, and adds:

- **early exits**: a CTC head after each layer of ``exit_layers``; with an
  exit strategy (`speechbrain_ee.decoding.exit_strategies`) each utterance
  leaves the batch once the strategy says it is done, and the later layers
  are never computed for it (`speechbrain_ee.nnet.exit_loop`, the loop the
  offline simulation uses too);
- **blank skipping**: with ``skip_layer`` K, a `BlankSkipStage` after layer
  K; at a skip threshold the frames it calls blank are dropped from the
  sequence for every later layer and head, and take the stage's output
  there (`speechbrain_ee.lobes.blank_skip`).

Both run through the one layer loop (`speechbrain_ee.lobes.layer_loop`):
skipped frames are not computed by the later layers, and utterances that
exit stop, so the savings compose in wall time. The heads are, in order,
the skip stage's intermediate head (after layer K, when there is one) and
the exits, which must come after layer K: the skip stage's head is the
model's exit there. With one exit at the last layer and no skip stage the
model is the plain CTC encoder.

Every head's output goes through `speechbrain_ee.lobes.contract.EncoderOutput`.

Authors
-------
* speechbrain-ee contributors 2026
"""

from typing import List

import torch
from torch import nn

from speechbrain_ee.lobes.blank_skip import BlankSkipStage, distillation_loss
from speechbrain_ee.lobes.contract import EncoderOutput, check_options
from speechbrain_ee.lobes.early_exit import exit_loss_weights
from speechbrain_ee.lobes.layer_loop import layered_stack, run_layers
from speechbrain_ee.nnet.exit_loop import exit_loop


class DynamicCTCEncoder(nn.Module):
    """An `ASREncoder` with early-exit CTC heads and an optional blank-skip
    stage.

    Arguments
    ---------
    encoder : torch.nn.Module
        Front end and encoder stack with SpeechBrain's layout
        (``start_state``, ``layers``, ``norm``; `layered_stack`): an
        ``ASREncoder``, the SSL encoder, a distilled student, a routed
        model.
    d_model : int
        Width of the stack.
    output_neurons : int
        CTC vocabulary (blank included).
    exit_layers : list of int, optional
        1-based layers followed by an exit head, increasing, all after
        ``skip_layer``; the last one is usually the last layer (default:
        every layer after ``skip_layer``).
    skip_layer : int, optional
        K: the layer followed by the blank-skip stage (its intermediate head
        is the model's first head); None: no skipping.
    shared_head : bool
        One CTC linear layer for all exits (True) or one per exit.
    adapter : callable, optional
        ``adapter(d_model) -> nn.Module`` built once per exit and applied
        before the exit's norm (the seed's SSL heads); None: no adapter.
    exit_loss_scheme : str or list of float
        The exits' loss weights (`exit_loss_weights`).
    exit_intermediate_weight : float
        ``w`` of the ``final_weighted`` scheme.
    blank_index : int
        The CTC blank.
    factorized_intermediate : bool
        Factorised CTC output at the skip stage's head.
    skipped_output : str
        A skipped frame's output in the later heads: ``"intermediate"`` or
        ``"blank"`` (`BlankSkipStage`).
    skip_rule : callable, optional
        See `BlankSkipStage`.
    intermediate_ctc_weight : float
        lambda_int: the loss weight of the skip stage's head.
    kd_weight : float
        lambda_kd: weight of the distillation term (last head -> skip
        stage's head, `distillation_loss`), the model's ``aux_loss``.
    final_head : torch.nn.Module, optional
        The last exit's own output layer (``[..., d_model] -> [...,
        vocab]`` logits), e.g. the CTC layer of the fine-tuned model whose
        frozen encoder hosts the exits (the spec's setting 2): the last
        exit is then ``final_head(norm(x))``, without adapter (the other
        exits have theirs), the single-exit model itself. It needs an exit
        at the last layer. None: the last exit has a head like the others.
    head_init : torch.nn.Module, optional
        A linear output layer (``torch.nn.Linear`` or SpeechBrain's
        ``Linear``) whose weights every exit's CTC layer starts from (e.g.
        the fine-tuned model's).

    Example
    -------
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> from speechbrain_ee.lobes.summary_mixing_encoders import (
    ...     SummaryMixingConformerEncoder)
    >>> from speechbrain_ee.decoding.exit_strategies import FixedExit
    >>> asr = ASREncoder(
    ...     SummaryMixingConformerEncoder(num_layers=4, d_model=32, d_ffn=64,
    ...                                   nhead=4),
    ...     input_size=20, d_model=32, positional_encoding="none")
    >>> model = DynamicCTCEncoder(asr, 32, 10, exit_layers=[3, 4],
    ...                           skip_layer=2).eval()
    >>> feats, lens = torch.rand(3, 40, 20), torch.tensor([1.0, 0.7, 0.5])
    >>> out = model(feats, lens)  # every head, no skipping
    >>> out.head_layers, [lp.shape[1] for lp in out.heads], out.skipped_frames
    ([2, 3, 4], [40, 40, 40], 0)
    >>> out = model(feats, lens, exit_strategy=FixedExit(layer=3),
    ...             skip_threshold=0.0)  # every frame skips layers 3-4
    >>> out.exit_layer.tolist(), out.skipped_frames == out.real_frames
    ([3, 3, 3], True)

    Exits on a frozen fine-tuned model (an SSL encoder here; the last exit
    is the model's own CTC layer):

    >>> from speechbrain_ee.distill.hubert import SSLEncoder, build_hubert
    >>> from speechbrain_ee.lobes.early_exit import ExitAdapter
    >>> from speechbrain_ee.nnet.frozen import freeze
    >>> ssl = freeze(SSLEncoder(build_hubert(
    ...     hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
    ...     intermediate_size=64, conv_dim=16, num_conv_pos_embeddings=8,
    ...     num_conv_pos_embedding_groups=4)))
    >>> ctc_lin = freeze(torch.nn.Linear(32, 10))
    >>> model = DynamicCTCEncoder(ssl, 32, 10, adapter=ExitAdapter,
    ...                           final_head=ctc_lin, head_init=ctc_lin,
    ...                           exit_loss_scheme="final_weighted")
    >>> out = model(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> out.head_layers, [round(w, 2) for w in out.loss_weights], len(model.adapters)
    ([1, 2, 3], [0.45, 0.45, 0.1], 2)
    >>> sorted({n.split(".")[0] for n, p in model.named_parameters()
    ...         if p.requires_grad})
    ['adapters', 'ctc_heads', 'exit_norms']
    """

    def __init__(
        self,
        encoder,
        d_model: int,
        output_neurons: int,
        exit_layers: List[int] = None,
        skip_layer: int = None,
        shared_head: bool = True,
        adapter=None,
        exit_loss_scheme="sum",
        exit_intermediate_weight: float = 0.9,
        blank_index: int = 0,
        factorized_intermediate: bool = True,
        skipped_output: str = "intermediate",
        skip_rule=None,
        intermediate_ctc_weight: float = 0.3,
        kd_weight: float = 1.0,
        final_head=None,
        head_init=None,
    ):
        super().__init__()
        stack = layered_stack(encoder, "early exits and blank skip")
        num_layers = len(stack.layers)
        first = 1 if skip_layer is None else skip_layer + 1
        if skip_layer is not None and not 1 <= skip_layer < num_layers:
            raise ValueError(
                f"skip_layer={skip_layer}: expected a layer between 1 and "
                f"{num_layers - 1} (the stack has {num_layers} layers; at "
                "least one must follow the blank-skip stage)."
            )
        exit_layers = list(exit_layers or range(first, num_layers + 1))
        if exit_layers != sorted(set(exit_layers)) or not (
            1 <= exit_layers[0] and exit_layers[-1] <= num_layers
        ):
            raise ValueError(
                f"exit_layers={exit_layers}: expected increasing layer "
                f"numbers between 1 and {num_layers} (the stack's layers)."
            )
        if exit_layers[0] < first:
            raise ValueError(
                f"exit_layers={exit_layers} with skip_layer={skip_layer}: "
                f"every exit must come after layer {skip_layer}. The "
                "blank-skip stage's head is the model's exit at that layer, "
                "and an earlier exit would stop before any frame is skipped."
            )
        self.encoder = encoder
        self.exit_layers = exit_layers
        self.skip_layer = skip_layer
        self.shared_head = shared_head
        self.intermediate_ctc_weight = intermediate_ctc_weight
        self.kd_weight = kd_weight
        self._exit_weights = exit_loss_weights(
            exit_loss_scheme, exit_layers, exit_intermediate_weight)
        self.exit_norms = nn.ModuleList(
            stack.norm if layer == num_layers else nn.LayerNorm(d_model)
            for layer in exit_layers
        )
        if final_head is not None and exit_layers[-1] != num_layers:
            raise ValueError(
                f"final_head with exit_layers={exit_layers}: the model's own "
                f"output layer reads its last layer ({num_layers}); put the "
                "last exit there.")
        self.final_head = final_head
        # the exits with a head of their own (not the last, with final_head)
        headed = len(exit_layers) - (final_head is not None)
        self.adapters = None
        if adapter is not None:
            self.adapters = nn.ModuleList(adapter(d_model) for _ in range(headed))
        n_heads = min(1, headed) if shared_head else headed
        self.ctc_heads = nn.ModuleList(
            nn.Linear(d_model, output_neurons) for _ in range(n_heads)
        )
        if head_init is not None:
            copy_linear(head_init, self.ctc_heads)
        self.skip_stage = None
        if skip_layer is not None:
            self.skip_stage = BlankSkipStage(
                d_model, output_neurons, blank_index, factorized_intermediate,
                skipped_output, skip_rule)

    @property
    def layers(self):
        """The encoder stack's layers."""
        return self.encoder.layers

    @property
    def num_layers(self):
        """Number of layers in the stack."""
        return len(self.layers)

    @property
    def head_layers(self):
        """The layer after each CTC head: the skip stage's (K), then the
        exits."""
        skip = [] if self.skip_layer is None else [self.skip_layer]
        return skip + list(self.exit_layers)

    @property
    def loss_weights(self):
        """Each head's CTC loss weight (lambda_int for the skip stage's
        head, `exit_loss_weights` for the exits)."""
        skip = [] if self.skip_layer is None else [self.intermediate_ctc_weight]
        return skip + list(self._exit_weights)

    def exit_log_probs(self, position, hidden):
        """CTC log-probabilities of exit ``position`` (0 = shallowest exit,
        not counting the skip stage's head) from its hidden states.

        Arguments
        ---------
        position : int
            Index of the exit in ``exit_layers``.
        hidden : torch.Tensor
            ``[batch, time, d_model]`` output of the exit's layer.

        Returns
        -------
        torch.Tensor
            ``[batch, time, vocab]``.
        """
        if self.final_head is not None and position == len(self.exit_layers) - 1:
            return torch.log_softmax(
                self.final_head(self.exit_norms[position](hidden)), dim=-1)
        if self.adapters is not None:
            hidden = self.adapters[position](hidden)
        hidden = self.exit_norms[position](hidden)
        head = self.ctc_heads[0 if self.shared_head else position]
        return torch.log_softmax(head(hidden), dim=-1)

    def forward(self, feats, wav_lens=None, exit_strategy=None,
                skip_threshold=None, spike_width=None,
                dynchunktrain_config=None):
        """Features -> `EncoderOutput` (see `from_state`).

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.
        exit_strategy : speechbrain_ee.decoding.exit_strategies.ExitStrategy, optional
            Decides after each head which utterances stop; None: every head
            on the whole batch.
        skip_threshold : float, optional
            Skip the frames whose intermediate ``p(blank)`` exceeds it; None:
            skip nothing.
        spike_width : int, optional
            Spike extension of the skip rule (`blank_skip_mask`); None: none.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Streaming configuration (not with skipping).

        Returns
        -------
        EncoderOutput
        """
        state = self.encoder.start_state(feats, wav_lens, dynchunktrain_config)
        return self.from_state(state, exit_strategy, skip_threshold, spike_width)

    def from_state(self, state, exit_strategy=None, skip_threshold=None,
                   spike_width=None):
        """`forward` from the front end's output (`ASREncoder.start_state`).

        Arguments
        ---------
        state : speechbrain_ee.lobes.layer_loop.EncoderState
            The batch before the first layer.
        exit_strategy, skip_threshold, spike_width
            See `forward`.

        Returns
        -------
        EncoderOutput
        """
        check_options(self, exit_strategy, skip_threshold, spike_width)
        run = _Pass(self, state, skip_threshold, spike_width)
        batch = state.batch_size
        head_layers = torch.tensor(self.head_layers)
        if exit_strategy is None:
            everyone = torch.arange(batch)
            heads = [run.head(p, everyone)[0] for p in range(len(self.head_layers))]
            last = torch.full((batch,), self.head_layers[-1], dtype=torch.long)
            return self._output(run, heads[-1], heads, last, run.layers_computed(last),
                                self._kd(run, heads))
        with torch.no_grad():
            decisions = exit_loop(exit_strategy, self.head_layers, batch, run.head,
                                  collect=True)
        stopped = head_layers[decisions.stopped]
        return self._output(run, decisions.log_probs, [],
                            head_layers[decisions.chosen], run.layers_computed(stopped))

    def _kd(self, run, heads):
        """kd_weight x the distillation term, last head -> skip stage's
        head, on the frames the last layers computed (0 without skip)."""
        if self.skip_stage is None:
            return heads[-1].new_zeros(())
        computed = ~run.padding & ~run.skipped
        return self.kd_weight * distillation_loss(heads[0], heads[-1], computed)

    def _output(self, run, output, heads, exit_layer, layers_computed, aux=None):
        """The `EncoderOutput` of a pass."""
        return EncoderOutput(
            output=output, heads=heads, head_layers=self.head_layers,
            loss_weights=self.loss_weights, exit_layer=exit_layer,
            layers_computed=layers_computed, padding=run.padding,
            num_layers=self.num_layers, skipped=run.skipped,
            aux_loss=output.new_zeros(()) if aux is None else aux)

    def forward_full(self, feats, wav_lens=None):
        """The full model (the speed reference): every layer on every
        frame, then the last head only.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]``.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        EncoderOutput
            Only ``output`` (``heads`` is empty).
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
        EncoderOutput
        """
        padding = state.src_key_padding_mask
        state = run_layers(self.layers, state, 0, self.exit_layers[-1])
        output = self.exit_log_probs(len(self.exit_layers) - 1, state.x)
        last = torch.full((state.batch_size,), self.exit_layers[-1], dtype=torch.long)
        return EncoderOutput(
            output=output, heads=[], head_layers=self.head_layers,
            loss_weights=self.loss_weights, exit_layer=last, layers_computed=last,
            padding=padding, num_layers=self.num_layers,
            skipped=None if self.skip_stage is None else torch.zeros_like(padding))

    def inference_variant(self, exit_strategy=None, skip_threshold=None,
                          spike_width=None):
        """``(call(feats, wav_lens), call_from_state(state))``: inference
        at one setting, whole and from the front end's output (what
        `speechbrain_ee.analysis.timing.measure_speed` times).

        Arguments
        ---------
        exit_strategy, skip_threshold, spike_width
            See `forward`.

        Returns
        -------
        tuple of callable
        """
        check_options(self, exit_strategy, skip_threshold, spike_width)
        options = dict(exit_strategy=exit_strategy, skip_threshold=skip_threshold,
                       spike_width=spike_width)
        return (lambda feats, wav_lens: self(feats, wav_lens, **options),
                lambda state: self.from_state(state, **options))


def copy_linear(source, targets):
    """Copies the weights of a linear output layer into others.

    Arguments
    ---------
    source : torch.nn.Module
        A ``torch.nn.Linear`` or a module holding exactly one (SpeechBrain's
        ``Linear``).
    targets : iterable of torch.nn.Linear
        Of the same shape.

    Example
    -------
    >>> from speechbrain.nnet.linear import Linear
    >>> source, target = Linear(input_size=4, n_neurons=3), torch.nn.Linear(4, 3)
    >>> copy_linear(source, [target])
    >>> torch.equal(target.weight, source.w.weight)
    True
    """
    linears = [m for m in source.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        raise TypeError(
            f"head_init: {type(source).__name__} holds {len(linears)} linear "
            "layers; give the one output layer the exits' CTC layers start "
            "from.")
    with torch.no_grad():
        for target in targets:
            if target.weight.shape != linears[0].weight.shape:
                raise ValueError(
                    f"head_init: its weights are {list(linears[0].weight.shape)}, "
                    f"the exits' CTC layers {list(target.weight.shape)} "
                    "(output_neurons x d_model): the sizes must match.")
            target.weight.copy_(linears[0].weight)
            target.bias.copy_(linears[0].bias)


class _Pass:
    """One batch going through the layers and heads of a
    `DynamicCTCEncoder`: the shrinking state (rows that stopped, frames
    that skipped) and what maps it back to the batch.

    Arguments
    ---------
    model : DynamicCTCEncoder
    state : speechbrain_ee.lobes.layer_loop.EncoderState
        The batch before the first layer.
    threshold : float or None
        Skip threshold.
    spike_width : int or None
        Spike extension.
    """

    def __init__(self, model, state, threshold, spike_width):
        self.model = model
        self.state = state
        self.threshold, self.spike_width = threshold, spike_width
        self.done = 0
        self.padding = state.src_key_padding_mask
        self.lengths = state.lengths
        self.template = None  # the skipped frames' output, after the skip stage
        self.skipped = None if model.skip_stage is None else torch.zeros_like(self.padding)
        self.busy = torch.ones(state.batch_size, dtype=torch.bool)  # kept a frame

    def layers_computed(self, through):
        """``[batch]`` layers computed: ``through`` (the layer each row went
        to), or K for a row whose every frame skipped the later layers."""
        skip_layer = self.model.skip_layer
        if skip_layer is None:
            return through
        return torch.where(self.busy, through, torch.minimum(
            through, torch.tensor(skip_layer)))

    def head(self, position, running):
        """Head ``position``'s log-probabilities of the rows ``running``.

        Arguments
        ---------
        position : int
            Index in ``model.head_layers``.
        running : torch.Tensor
            ``[n]`` increasing row ids of the batch still going.

        Returns
        -------
        tuple
            ``[n, time, vocab]`` log-probabilities (time: the longest
            running row's, or the batch's once frames were skipped) and
            ``[n]`` real frames.
        """
        model, state = self.model, self.state
        keep = torch.isin(state.rows.cpu(), running)
        if not bool(keep.all()):  # some stopped at the previous head
            state = state.select_rows(keep.to(state.rows.device))
        layer = model.head_layers[position]
        if state.batch_size:
            state = run_layers(model.layers, state, self.done, layer)
        self.done = layer
        lengths = self.lengths[running.to(self.lengths.device)]
        if model.skip_stage is not None and position == 0:
            intermediate, self.state = self._skip(state)
            return intermediate, lengths
        self.state = state
        exit_position = position - (model.skip_stage is not None)
        if self.template is None:
            return model.exit_log_probs(exit_position, state.x), lengths
        out = self.template[running.to(self.template.device)]
        if state.batch_size:
            values = model.exit_log_probs(exit_position, state.x).to(out.dtype)
            where = torch.searchsorted(running.to(state.rows.device), state.rows)
            out = out.index_copy(0, where, state.scatter_frames(values, out[where]))
        return out, lengths

    def _skip(self, state):
        """The skip stage on the whole batch after layer K: its head's
        log-probabilities and the state of the kept frames (rows with none
        leave); records the skipped frames and their output in the later
        heads (the template)."""
        stage = self.model.skip_stage
        intermediate = stage.log_probs(state.x)
        skipped = stage.decide(intermediate, state.src_key_padding_mask,
                               self.threshold, self.spike_width)
        self.skipped = skipped
        if not bool(skipped.any()):  # exactly the full model
            return intermediate, state
        self.template = stage.template(intermediate)
        packed = state.select_frames(~skipped)
        self.busy = (packed.lengths > 0).cpu()
        if not bool(self.busy.all()):
            packed = packed.select_rows(self.busy.to(packed.rows.device))
        return intermediate, packed
