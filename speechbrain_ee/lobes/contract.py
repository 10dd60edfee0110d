"""The one contract of speechbrain-ee's CTC models.

Every CTC model a recipe builds answers through the same interface, so that
the recipe's Brain, the inference class, export and the analysis tools
never ask which kind of model they hold:

- ``model(feats, wav_lens, exit_strategy=None, skip_threshold=None,
  spike_width=None)`` returns an `EncoderOutput`. Without an exit strategy
  every CTC head is computed for the whole batch (training, scoring); with
  one, each utterance stops where the strategy says (inference).
  ``skip_threshold`` turns blank skipping on. A model refuses, with one
  clear line, an option it has no use for (`check_options`).
- ``model.inference_variant(**options)`` gives ``(call(feats, wav_lens),
  call_from_state(state))`` and ``model.forward_full`` /
  ``model.full_from_state`` the full model (every layer, the last head
  only): what `speechbrain_ee.analysis.timing` times side by side.
- ``model.head_layers`` (the layer after each CTC head), ``model.num_layers``
  and ``model.loss_weights`` (one per head).

Two classes implement it: `CTCModel` (any encoder and one CTC layer: a
plain Conformer, an SSL encoder, a distilled student, a routed model) and
`speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder` (early exits, blank
skipping, or both). An encoder whose Transformer layers sit deeper than
``encoder.layers`` (the SSL encoder, a student, a routed model) declares
``num_layers`` (`stack_depth`). `CTCLogProbs` makes any of them a plain
``(feats, lengths) -> log-probabilities`` module, the last stage of the
pipeline SpeechBrain's own ``EncoderASR`` runs.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass, field
from typing import List, Optional

import torch
from speechbrain.dataio.dataio import length_to_mask
from torch import nn

OPTIONS = ("exit_strategy", "skip_threshold", "spike_width")


@dataclass
class EncoderOutput:
    """What every CTC model of speechbrain-ee returns.

    Example
    -------
    >>> lp = torch.zeros(2, 4, 3)
    >>> out = EncoderOutput(
    ...     output=lp, heads=[lp], head_layers=[6], loss_weights=[1.0],
    ...     exit_layer=torch.tensor([6, 6]), layers_computed=torch.tensor([6, 6]),
    ...     padding=torch.tensor([[0, 0, 0, 0], [0, 0, 1, 1]], dtype=torch.bool),
    ...     num_layers=6)
    >>> out.real_frames, out.skipped_frames, out.skipped_shares().tolist()
    (6, 0, [0.0, 0.0])
    """

    output: torch.Tensor
    """``[batch, time, vocab]``: the CTC log-probabilities to decode (per
    utterance, the head it exited at; frames past its length are
    padding)."""

    heads: List[torch.Tensor]
    """Every CTC head's ``[batch, time, vocab]`` log-probabilities for the
    whole batch, shallowest first (what training and scoring read); empty
    when an exit strategy decided (then only ``output`` exists)."""

    head_layers: List[int]
    """The layer after which each head sits."""

    loss_weights: List[float]
    """The weight of each head's CTC loss in training."""

    exit_layer: torch.Tensor
    """``[batch]``: the layer of the head whose output ``output`` holds."""

    layers_computed: torch.Tensor
    """``[batch]``: encoder layers computed for each utterance."""

    padding: torch.Tensor
    """``[batch, time]`` bool, True where padded."""

    num_layers: int
    """Layers of the encoder stack."""

    skipped: Optional[torch.Tensor] = None
    """``[batch, time]`` bool: real frames that skipped the last layers;
    None for a model that never skips."""

    aux_loss: torch.Tensor = field(default_factory=lambda: torch.tensor(0.0))
    """A training loss the model adds to the heads' CTC losses (the
    blank-skip distillation term, weighted); 0 when none."""

    @property
    def real_frames(self):
        """Number of real (not padded) frames in the batch."""
        return int((~self.padding).sum())

    @property
    def computed(self):
        """``[batch, time]`` bool: real frames the last layers computed."""
        if self.skipped is None:
            return ~self.padding
        return ~self.padding & ~self.skipped

    @property
    def skipped_frames(self):
        """Number of frames that skipped the last layers."""
        return 0 if self.skipped is None else int(self.skipped.sum())

    def skipped_shares(self):
        """``[batch]``: each utterance's share of skipped frames."""
        if self.skipped is None:
            return torch.zeros(self.padding.shape[0])
        real = (~self.padding).sum(dim=1).clamp(min=1)
        return (self.skipped.sum(dim=1) / real).cpu()


def check_options(model, exit_strategy=None, skip_threshold=None,
                  spike_width=None):
    """Refuses the inference options a model has no use for.

    Arguments
    ---------
    model : torch.nn.Module
        A model of the contract (``head_layers``, ``skip_layer``).
    exit_strategy : object, optional
        Needs more than one head.
    skip_threshold : float, optional
        Needs a blank-skip stage.
    spike_width : int, optional
        Needs a blank-skip stage.

    Example
    -------
    >>> class Plain:
    ...     head_layers, skip_layer = [6], None
    >>> check_options(Plain(), skip_threshold=0.9)
    Traceback (most recent call last):
    ...
    ValueError: skip_threshold=0.9: this model has no blank-skip stage (its only CTC head is after layer 6).
    """
    heads = list(model.head_layers)
    where = (f"its only CTC head is after layer {heads[0]}" if len(heads) == 1
             else f"its CTC heads are after layers {heads}")
    if exit_strategy is not None and len(heads) < 2:
        raise ValueError(f"exit_strategy={exit_strategy!r}: this model has no early "
                         f"exits ({where}).")
    if getattr(model, "skip_layer", None) is None:
        for name, value in (("skip_threshold", skip_threshold),
                            ("spike_width", spike_width)):
            if value is not None:
                raise ValueError(f"{name}={value!r}: this model has no blank-skip "
                                 f"stage ({where}).")


def inference_options(hparams):
    """The inference options that hyperparameters set: ``exit_strategy``,
    ``skip_threshold``, ``spike_width``, those that are not None.

    Arguments
    ---------
    hparams : dict or object
        A YAML's hyperparameters (a dict, or a namespace as ``Brain.hparams``
        and ``Pretrained.hparams``).

    Returns
    -------
    dict

    Example
    -------
    >>> inference_options({"skip_threshold": 0.9, "spike_width": None, "lr": 1})
    {'skip_threshold': 0.9}
    """
    get = hparams.get if isinstance(hparams, dict) else (
        lambda key: getattr(hparams, key, None))
    return {key: get(key) for key in OPTIONS if get(key) is not None}


def stack_depth(encoder):
    """Layers of an encoder: its ``num_layers`` where it declares one (the
    SSL encoder, a distilled student, a routed model: wrappers of a
    Transformer whose layers sit deeper), else its stack's ``layers``
    (SpeechBrain's layout, through an `ASREncoder`); 1 when neither says.

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> stack_depth(ConformerEncoder(num_layers=3, d_model=16, d_ffn=32, nhead=2))
    3
    >>> class Wrapper(nn.Module):
    ...     num_layers = 4
    >>> stack_depth(Wrapper())
    4
    """
    depth = getattr(encoder, "num_layers", None)
    if isinstance(depth, int) and depth > 0:
        return depth
    for module in (encoder, getattr(encoder, "encoder", None)):
        if module is not None and hasattr(module, "layers"):
            return len(module.layers)
    return 1


def linear_time(model):
    """Whether a model's cost grows linearly with the input's length.

    True when a module of the model declares ``linear_time = True`` (the
    SummaryMixing encoders do: no T x T tensor anywhere); False for
    self-attention encoders (SpeechBrain's Conformer, SSL models), whose
    time and memory grow with the square of the length. Inference sizes its
    long-form segments by it (`speechbrain_ee.inference.longform`).

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> from speechbrain_ee.lobes.summary_mixing_encoders import (
    ...     SummaryMixingConformerEncoder)
    >>> linear_time(ConformerEncoder(num_layers=1, d_model=16, d_ffn=32, nhead=2))
    False
    >>> linear_time(SummaryMixingConformerEncoder(num_layers=1, d_model=16, d_ffn=32,
    ...                                           nhead=2))
    True
    """
    return any(getattr(module, "linear_time", False) for module in model.modules())


class CTCModel(nn.Module):
    """Any encoder and one CTC output layer, answering through the contract.

    Arguments
    ---------
    encoder : torch.nn.Module
        ``encoder(feats, wav_lens) -> [batch, time', d]``: an `ASREncoder`,
        an SSL encoder, a distilled student, a routed model.
    ctc_lin : torch.nn.Module
        ``[..., d] -> [..., vocab]`` logits (SpeechBrain's ``Linear``).

    Example
    -------
    >>> from speechbrain.nnet.linear import Linear
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> asr = ASREncoder(ConformerEncoder(num_layers=2, d_model=16, d_ffn=32,
    ...                                   nhead=2), input_size=20, d_model=16)
    >>> model = CTCModel(asr, Linear(input_size=16, n_neurons=10)).eval()
    >>> out = model(torch.rand(2, 30, 20), torch.tensor([1.0, 0.5]))
    >>> out.output.shape, out.exit_layer.tolist(), out.padding.sum().item()
    (torch.Size([2, 30, 10]), [2, 2], 15)
    """

    skip_layer = None

    def __init__(self, encoder, ctc_lin):
        super().__init__()
        self.encoder = encoder
        self.ctc_lin = ctc_lin

    @property
    def num_layers(self):
        """Layers of the encoder."""
        return stack_depth(self.encoder)

    @property
    def head_layers(self):
        """``[num_layers]``: the one CTC head."""
        return [self.num_layers]

    @property
    def loss_weights(self):
        """``[1.0]``."""
        return [1.0]

    def log_probs(self, hidden):
        """The CTC head on the encoder's output."""
        return torch.log_softmax(self.ctc_lin(hidden), dim=-1)

    def forward(self, feats, wav_lens=None, exit_strategy=None,
                skip_threshold=None, spike_width=None, dynchunktrain_config=None):
        """The encoder and the CTC head.

        Arguments
        ---------
        feats : torch.Tensor
            ``[batch, time, n_feats]`` (or waveforms, for an SSL encoder).
        wav_lens : torch.Tensor, optional
            Relative lengths.
        exit_strategy, skip_threshold, spike_width : None
            Refused (`check_options`): this model has one head, no skip.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunk-masked pass (dynamic chunk training, streaming scores):
            each frame sees up to the end of its chunk and the left context;
            passed to the encoder (an `ASREncoder`).

        Returns
        -------
        EncoderOutput
        """
        check_options(self, exit_strategy, skip_threshold, spike_width)
        chunking = ({} if dynchunktrain_config is None
                    else {"dynchunktrain_config": dynchunktrain_config})
        log_probs = self.log_probs(self.encoder(feats, wav_lens, **chunking))
        return self.output(log_probs, wav_lens)

    def make_streaming_context(self, dynchunktrain_config):
        """A blank streaming state of the encoder (`forward_streaming`).

        Arguments
        ---------
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size (frames after the front end) and left context.

        Returns
        -------
        object
            The encoder's streaming context.

        Raises
        ------
        ValueError
            The encoder cannot stream.
        """
        if not hasattr(self.encoder, "make_streaming_context"):
            raise ValueError(
                f"{type(self.encoder).__name__} cannot stream; use a "
                "Conformer trained with dynamic chunks (hparams/"
                "conformer_summarymixing_streaming_ctc.yaml or "
                "conformer_streaming_ctc.yaml).")
        return self.encoder.make_streaming_context(dynchunktrain_config)

    def forward_streaming(self, x, context):
        """CTC log-probabilities of one chunk of a stream: chunk after
        chunk, those of the chunk-masked `forward` on the whole stream.

        Arguments
        ---------
        x : torch.Tensor
            The encoder front end's output for the chunk.
        context : object
            From `make_streaming_context`, mutated.

        Returns
        -------
        torch.Tensor
            ``[batch, time, vocab]``.
        """
        return self.log_probs(self.encoder.forward_streaming(x, context))

    def output(self, log_probs, wav_lens):
        """The `EncoderOutput` of the one head's log-probabilities."""
        batch, time = log_probs.shape[:2]
        if wav_lens is None:
            wav_lens = torch.ones(batch, device=log_probs.device)
        lengths = torch.round(wav_lens * time).long().clamp(max=time)
        padding = ~length_to_mask(lengths, time).bool()
        layers = torch.full((batch,), self.num_layers, dtype=torch.long)
        return EncoderOutput(
            output=log_probs, heads=[log_probs], head_layers=self.head_layers,
            loss_weights=self.loss_weights, exit_layer=layers,
            layers_computed=layers, padding=padding, num_layers=self.num_layers)

    def forward_full(self, feats, wav_lens=None):
        """The full model (the same as `forward` here)."""
        return self(feats, wav_lens)

    def full_from_state(self, state):
        """`forward_full` from the front end's output (``encoder.start_state``
        of an `ASREncoder`)."""
        log_probs = self.log_probs(self.encoder.from_state(state))
        return self.output(log_probs, state.lengths.float() / log_probs.shape[1])

    def inference_variant(self, **options):
        """``(call(feats, wav_lens), call_from_state(state))`` with
        ``options`` (none apply: the full model)."""
        check_options(self, **options)
        return self.forward_full, self.full_from_state


class CTCLogProbs(nn.Module):
    """A model of the contract as a plain module: ``(feats, lengths) -> CTC
    log-probabilities`` at fixed inference options (the model's defaults).

    It is the last stage of the ``LengthsCapableSequential`` (features,
    normalisation, model) that SpeechBrain's ``EncoderASR`` calls as
    ``mods.encoder(wavs, wav_lens)``: an export's layout, so that stock
    SpeechBrain transcribes our models (`speechbrain_ee.inference.export`).

    Arguments
    ---------
    model : torch.nn.Module
        A model of the contract (`CTCModel`, ``DynamicCTCEncoder``).
    exit_strategy : ExitStrategy, optional
        Early exits: the strategy every call uses.
    skip_threshold : float, optional
        Blank skip: the threshold every call uses.
    spike_width : int, optional
        Blank skip: the spike width every call uses.

    Example
    -------
    >>> from speechbrain.nnet.linear import Linear
    >>> from speechbrain.nnet.containers import LengthsCapableSequential
    >>> from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> model = CTCModel(ASREncoder(ConformerEncoder(num_layers=1, d_model=16, d_ffn=32,
    ...                                              nhead=2), input_size=20, d_model=16),
    ...                  Linear(input_size=16, n_neurons=10)).eval()
    >>> chain = LengthsCapableSequential(model=CTCLogProbs(model))
    >>> feats, lens = torch.rand(2, 30, 20), torch.tensor([1.0, 0.5])
    >>> torch.equal(chain(feats, lens), model(feats, lens).output)
    True
    """

    def __init__(self, model, exit_strategy=None, skip_threshold=None,
                 spike_width=None):
        super().__init__()
        self.model = model
        self.options = {key: value for key, value in zip(
            OPTIONS, (exit_strategy, skip_threshold, spike_width))
            if value is not None}
        check_options(model, **self.options)

    def forward(self, feats, lengths=None):
        """``[batch, time', vocab]`` log-probabilities.

        Arguments
        ---------
        feats : torch.Tensor
            The model's input (normalised features, or waveforms).
        lengths : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        torch.Tensor
        """
        return self.model(feats, lengths, **self.options).output
