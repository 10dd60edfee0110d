"""SpeechBrain's ``TransformerASR`` with SummaryMixing encoders.

`TransformerASR` is a drop-in for
``speechbrain.lobes.models.transformer.TransformerASR.TransformerASR``: the
same constructor arguments and defaults, the same ``forward``, ``encode``,
``decode`` and state-dict layout, so that SpeechBrain's recipes, beam
searchers (``S2STransformerBeamSearcher``), checkpoint averaging and
``EncoderDecoderASR`` use it unchanged. ``attention_type: SummaryMixing``
(with ``encoder_module`` ``conformer`` or ``branchformer``) swaps the
encoder for `SummaryMixingConformerEncoder` /
`SummaryMixingBranchformerEncoder`; the SummaryMixing keys are named as in
the SummaryMixing authors' recipes (``mode``, ``local_proj_hid_dim``,
``local_proj_out_dim``, ``summary_hid_dim``, ``summary_out_dim``). Any other
``attention_type`` builds and runs exactly SpeechBrain's model.

A SpeechBrain recipe switches with its model's YAML block only::

    Transformer: !new:speechbrain_ee.lobes.TransformerASR
        ...                                  # SpeechBrain's keys, unchanged
        attention_type: SummaryMixing

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import List, Optional

import torch
from speechbrain.lobes.models.transformer.TransformerASR import (
    TransformerASR as SpeechBrainTransformerASR,
)
from speechbrain.lobes.models.transformer.TransformerASR import (
    TransformerASRStreamingContext,
    make_transformer_src_tgt_masks,
)
from speechbrain.nnet.activations import Swish
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch import nn

from speechbrain_ee.lobes.summary_mixing_encoders import (
    SummaryMixingBranchformerEncoder,
    SummaryMixingConformerEncoder,
)

SUMMARY_MIXING = "SummaryMixing"
_NO_SPEECHBRAIN_ENCODER = "none"  # an encoder_module SpeechBrain ignores


@dataclass
class SummaryMixingTransformerASRStreamingContext(
    TransformerASRStreamingContext
):
    """`TransformerASRStreamingContext` plus the number of frames already
    encoded (the offset of the absolute positions of the next chunk)."""

    frames_seen: int = 0


class TransformerASR(SpeechBrainTransformerASR):
    """SpeechBrain's ``TransformerASR``, plus SummaryMixing encoders.

    All of SpeechBrain's arguments keep their meaning and defaults (see
    ``speechbrain.lobes.models.transformer.TransformerASR.TransformerASR``);
    with ``attention_type="SummaryMixing"`` the encoder is a SummaryMixing
    Conformer or Branchformer (``nhead`` is the number of SummaryMixing
    groups; the decoder keeps ``nhead`` attention heads). SummaryMixing needs
    no attention mask: causality (``causal``) and chunks
    (``dynchunktrain_config``) are handled by the encoder, so no
    (time x time) mask is built.

    Arguments
    ---------
    tgt_vocab : int
        Size of vocabulary.
    input_size : int
        Input feature size.
    d_model : int, optional
        Embedding dimension size.
    nhead : int, optional
        Attention heads; SummaryMixing groups with SummaryMixing.
    num_encoder_layers : int, optional
        Number of encoder layers.
    num_decoder_layers : int, optional
        Number of decoder layers (0: encoder only, e.g. CTC recipes).
    d_ffn : int, optional
        Hidden size of the feed-forward modules.
    dropout : float, optional
        Dropout.
    activation : torch.nn.Module, optional
        Activation of the Transformer layers.
    positional_encoding : str, optional
        ``"fixed_abs_sine"`` or None. With SummaryMixing, absolute sine
        positions are added at the encoder input (the authors' SpeechBrain
        1.0 code); None adds none (their paper-era code), encoder-only.
    normalize_before : bool, optional
        Pre-norm Transformer layers (must be True for the Conformer).
    kernel_size : int, optional
        Convolution kernel size (Conformer and Branchformer).
    bias : bool, optional
        Biases in the Conformer convolutions.
    encoder_module : str, optional
        ``"transformer"``, ``"conformer"`` or ``"branchformer"``.
    conformer_activation : torch.nn.Module, optional
        Activation of the Conformer layers.
    branchformer_activation : torch.nn.Module, optional
        Activation of the Branchformer layers.
    attention_type : str, optional
        SpeechBrain's ``"regularMHA"``, ``"RelPosMHAXL"``, ``"hypermixing"``,
        ``"RoPEMHA"``, or ``"SummaryMixing"``.
    max_length : int, optional
        Max length of the positional encodings.
    causal : bool, optional
        Causal encoder (SpeechBrain assumes True, with a warning, if None).
    csgu_linear_units : int, optional
        Hidden size of the Branchformer cgMLP.
    gate_activation : torch.nn.Module, optional
        Activation at the gate of the cgMLP.
    use_linear_after_conv : bool, optional
        Linear after the cgMLP convolution.
    output_hidden_states : bool, optional
        Also return the encoder's hidden states.
    layerdrop_prob : float, optional
        Probability to drop an encoder layer in training.
    mode : str, optional
        SummaryMixing mode: ``"SummaryMixing"``, ``"SummaryMixing-lite"``
        or ``"SummaryMixing-fast"``.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLP (default ``[d_model]``).
    local_proj_out_dim : int, optional
        Output size of the local MLP (default ``d_model``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLP (and of the Branchformer merge MLP;
        default ``[d_model]``).
    summary_out_dim : int, optional
        Output size of the summary MLP (default ``d_model``).
    use_layernorm : bool, optional
        LayerNorms of the full SummaryMixing mode.
    cgmlp_padding_mode : str, optional
        Time padding of the Branchformer cgMLP convolution (``"reflect"``).

    Example
    -------
    >>> net = TransformerASR(
    ...     tgt_vocab=32, input_size=40, d_model=64, nhead=4,
    ...     num_encoder_layers=2, num_decoder_layers=1, d_ffn=128,
    ...     encoder_module="conformer", attention_type="SummaryMixing",
    ...     normalize_before=True, causal=False,
    ... )
    >>> src = torch.rand(3, 50, 40)
    >>> tgt = torch.randint(0, 32, (3, 7))
    >>> enc_out, dec_out = net(src, tgt, torch.tensor([1.0, 0.8, 0.5]))
    >>> enc_out.shape, dec_out.shape
    (torch.Size([3, 50, 64]), torch.Size([3, 7, 64]))
    >>> net.encode(src).shape
    torch.Size([3, 50, 64])
    """

    def __init__(
        self,
        tgt_vocab,
        input_size,
        d_model=512,
        nhead=8,
        num_encoder_layers=6,
        num_decoder_layers=6,
        d_ffn=2048,
        dropout=0.1,
        activation=nn.ReLU,
        positional_encoding="fixed_abs_sine",
        normalize_before=False,
        kernel_size: Optional[int] = 31,
        bias: bool = True,
        encoder_module: str = "transformer",
        conformer_activation: type = Swish,
        branchformer_activation: type = nn.GELU,
        attention_type: str = "regularMHA",
        max_length: int = 2500,
        causal: Optional[bool] = None,
        csgu_linear_units: int = 3072,
        gate_activation: type = nn.Identity,
        use_linear_after_conv: bool = False,
        output_hidden_states=False,
        layerdrop_prob=0.0,
        mode: str = "SummaryMixing",
        local_proj_hid_dim: Optional[List[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[List[int]] = None,
        summary_out_dim: Optional[int] = None,
        use_layernorm: bool = True,
        cgmlp_padding_mode: str = "reflect",
    ):
        summary_mixing = attention_type == SUMMARY_MIXING
        if summary_mixing:
            _check_summary_mixing_options(
                encoder_module,
                normalize_before,
                positional_encoding,
                num_encoder_layers,
                num_decoder_layers,
            )
        super().__init__(
            tgt_vocab=tgt_vocab,
            input_size=input_size,
            d_model=d_model,
            nhead=nhead,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            d_ffn=d_ffn,
            dropout=dropout,
            activation=activation,
            positional_encoding=positional_encoding,
            normalize_before=normalize_before,
            kernel_size=kernel_size,
            bias=bias,
            # With SummaryMixing, SpeechBrain builds no encoder (and no
            # attention-only positional modules); ours is set below.
            encoder_module=(
                _NO_SPEECHBRAIN_ENCODER if summary_mixing else encoder_module
            ),
            conformer_activation=conformer_activation,
            branchformer_activation=branchformer_activation,
            attention_type="regularMHA" if summary_mixing else attention_type,
            max_length=max_length,
            causal=causal,
            csgu_linear_units=csgu_linear_units,
            gate_activation=gate_activation,
            use_linear_after_conv=use_linear_after_conv,
            output_hidden_states=output_hidden_states,
            layerdrop_prob=layerdrop_prob,
        )
        if not summary_mixing:
            return
        self.attention_type = SUMMARY_MIXING
        sizes = dict(
            mode=mode,
            local_proj_hid_dim=local_proj_hid_dim,
            local_proj_out_dim=local_proj_out_dim,
            summary_hid_dim=summary_hid_dim,
            summary_out_dim=summary_out_dim,
            use_layernorm=use_layernorm,
            output_hidden_states=output_hidden_states,
            layerdrop_prob=layerdrop_prob,
        )
        if encoder_module == "conformer":
            self.encoder = SummaryMixingConformerEncoder(
                num_layers=num_encoder_layers,
                d_model=d_model,
                d_ffn=d_ffn,
                nhead=nhead,
                kernel_size=kernel_size,
                activation=conformer_activation,
                bias=bias,
                dropout=dropout,
                causal=self.causal,
                **sizes,
            )
        else:
            if self.causal:
                raise ValueError(
                    "The Branchformer is not causal: set causal: False."
                )
            self.encoder = SummaryMixingBranchformerEncoder(
                num_layers=num_encoder_layers,
                d_model=d_model,
                nhead=nhead,
                kernel_size=kernel_size,
                activation=branchformer_activation,
                dropout=dropout,
                csgu_linear_units=csgu_linear_units,
                gate_activation=gate_activation,
                use_linear_after_conv=use_linear_after_conv,
                cgmlp_padding_mode=cgmlp_padding_mode,
                **sizes,
            )
        # SpeechBrain's xavier init, for the encoder built after it ran.
        for p in self.encoder.parameters():
            if p.dim() > 1:
                torch.nn.init.xavier_normal_(p)

    @property
    def summary_mixing(self):
        """Whether the encoder is a SummaryMixing encoder."""
        return self.attention_type == SUMMARY_MIXING

    def forward(self, src, tgt, wav_len=None, pad_idx=0):
        """SpeechBrain's ``TransformerASR.forward``.

        Arguments
        ---------
        src : torch.Tensor
            Encoder input ``[batch, time, features]`` (or 4-d, flattened).
        tgt : torch.Tensor
            Decoder input tokens ``[batch, tokens]``, or None (encoder only:
            the encoder's ``(output, attention_list)`` is returned).
        wav_len : torch.Tensor, optional
            Relative lengths ``[batch]``.
        pad_idx : int, optional
            The index of the padding token.

        Returns
        -------
        encoder_out : torch.Tensor
        decoder_out : torch.Tensor
        hidden_state_lst : list, optional
            With ``output_hidden_states`` (between the two outputs).
        """
        if not self.summary_mixing:
            return super().forward(src, tgt, wav_len, pad_idx=pad_idx)
        src_key_padding_mask, src = self._encoder_input(src, wav_len)
        outputs = self.encoder(
            src=src, src_key_padding_mask=src_key_padding_mask
        )
        if tgt is None:
            return outputs
        if self.output_hidden_states:
            encoder_out, _, hidden_states = outputs
        else:
            encoder_out, _ = outputs
        _, tgt_key_padding_mask, _, tgt_mask = make_transformer_src_tgt_masks(
            src, tgt, None, pad_idx=pad_idx
        )
        tgt = self.custom_tgt_module(tgt)
        tgt = tgt + self.positional_encoding(tgt)
        decoder_out, _, _ = self.decoder(
            tgt=tgt,
            memory=encoder_out,
            memory_mask=None,
            tgt_mask=tgt_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=src_key_padding_mask,
        )
        if self.output_hidden_states:
            return encoder_out, hidden_states, decoder_out
        return encoder_out, decoder_out

    def encode(
        self,
        src,
        wav_len=None,
        pad_idx=0,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """SpeechBrain's ``TransformerASR.encode``.

        Arguments
        ---------
        src : torch.Tensor
            Encoder input ``[batch, time, features]`` (or 4-d, flattened).
        wav_len : torch.Tensor, optional
            Relative lengths ``[batch]``.
        pad_idx : int, optional
            Unused (SpeechBrain's signature).
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked encoding (SummaryMixing: chunked summaries and Dynamic
            Chunk Convolution).

        Returns
        -------
        encoder_out : torch.Tensor
            And the hidden states, with ``output_hidden_states``.
        """
        if not self.summary_mixing:
            return super().encode(
                src, wav_len, pad_idx,
                dynchunktrain_config=dynchunktrain_config,
            )
        src_key_padding_mask, src = self._encoder_input(src, wav_len)
        outputs = self.encoder(
            src=src,
            src_key_padding_mask=src_key_padding_mask,
            dynchunktrain_config=dynchunktrain_config,
        )
        if self.output_hidden_states:
            encoder_out, _, hidden_states = outputs
            return encoder_out, hidden_states
        return outputs[0]

    def encode_streaming(self, src, context: TransformerASRStreamingContext):
        """Encodes one chunk of a stream (SpeechBrain's method).

        With SummaryMixing, chunks of ``context.dynchunktrain_config``'s
        chunk size give the output of `encode` with that config (the
        absolute positions continue from chunk to chunk).

        Arguments
        ---------
        src : torch.Tensor
            One chunk ``[batch, chunk_time, features]``.
        context : TransformerASRStreamingContext
            From `make_streaming_context`; updated in place.

        Returns
        -------
        torch.Tensor
            Encoder output of the chunk.
        """
        if not self.summary_mixing:
            return super().encode_streaming(src, context)
        if src.dim() == 4:
            src = src.flatten(2)
        src = self.custom_src_module(src)
        if self.positional_encoding_type == "fixed_abs_sine":
            start = context.frames_seen
            pe = self.positional_encoding.pe[:, start : start + src.shape[1]]
            src = src + pe.to(src)
        context.frames_seen += src.shape[1]
        encoder_out, _ = self.encoder.forward_streaming(
            src, context=context.encoder_context
        )
        return encoder_out

    def make_streaming_context(
        self, dynchunktrain_config: DynChunkTrainConfig, encoder_kwargs={}
    ):
        """Creates a blank streaming context (SpeechBrain's method).

        Arguments
        ---------
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size and left context.
        encoder_kwargs : dict
            Passed to the encoder's ``make_streaming_context``.

        Returns
        -------
        TransformerASRStreamingContext
        """
        if not self.summary_mixing:
            return super().make_streaming_context(
                dynchunktrain_config, encoder_kwargs
            )
        return SummaryMixingTransformerASRStreamingContext(
            dynchunktrain_config=dynchunktrain_config,
            encoder_context=self.encoder.make_streaming_context(
                dynchunktrain_config, **encoder_kwargs
            ),
        )

    def _encoder_input(self, src, wav_len):
        """Padding mask and projected (and positioned) encoder input.

        The padding mask is SpeechBrain's (`make_transformer_src_tgt_masks`,
        rounding ``wav_len * time``); no attention mask is built.
        """
        if src.dim() == 4:
            src = src.flatten(2)
        src_key_padding_mask, _, _, _ = make_transformer_src_tgt_masks(
            src, None, wav_len
        )
        src = self.custom_src_module(src)
        if self.positional_encoding_type == "fixed_abs_sine":
            src = src + self.positional_encoding(src)
        return src_key_padding_mask, src


def _check_summary_mixing_options(
    encoder_module,
    normalize_before,
    positional_encoding,
    num_encoder_layers,
    num_decoder_layers,
):
    """Rejects the options a SummaryMixing `TransformerASR` cannot run."""
    if encoder_module not in ("conformer", "branchformer"):
        raise ValueError(
            f"attention_type='SummaryMixing' needs encoder_module "
            f"'conformer' or 'branchformer', not {encoder_module!r}."
        )
    if encoder_module == "conformer" and not normalize_before:
        raise ValueError("normalize_before must be True for Conformer")
    if num_encoder_layers < 1:
        raise ValueError("A SummaryMixing TransformerASR needs an encoder.")
    if positional_encoding is None and num_decoder_layers > 0:
        raise ValueError(
            "SpeechBrain's decoder needs positions: set positional_encoding "
            "to 'fixed_abs_sine' (or num_decoder_layers to 0)."
        )
