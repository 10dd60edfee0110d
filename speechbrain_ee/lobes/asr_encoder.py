"""An acoustic encoder for CTC recipes: front end, input projection,
positional encoding and any encoder with SpeechBrain's encoder signature.

SpeechBrain's ``TransformerASR`` chooses its encoder from a fixed list of
names. ``ASREncoder`` takes the encoder as an object instead, so a recipe
switches between SpeechBrain's ``ConformerEncoder``, a SummaryMixing encoder
or an early-exit wrapper by changing YAML only.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import Optional

import torch
from speechbrain.lobes.models.transformer.Transformer import (
    PositionalEncoding,
)
from speechbrain.lobes.models.transformer.TransformerASR import (
    make_transformer_src_tgt_masks,
)
from speechbrain.nnet.attention import RelPosEncXL
from speechbrain.nnet.linear import Linear
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.lobes.layer_loop import EncoderState

POSITIONAL_ENCODINGS = ("RelPosMHAXL", "fixed_abs_sine", "none")


@dataclass
class ASREncoderStreamingContext:
    """Streaming state of an `ASREncoder`: its stack's and the frame count."""

    config: DynChunkTrainConfig
    """Chunk size (in frames after the front end) and left context (in
    chunks) of the stream."""

    encoder: object
    """The stack's own streaming context (``make_streaming_context``)."""

    frames: int = 0
    """Frames encoded so far."""


class ASREncoder(torch.nn.Module):
    """Front end, projection to ``d_model``, positional encoding and encoder.

    The encoder is any module with SpeechBrain's encoder signature
    ``forward(src, src_mask, src_key_padding_mask, pos_embs,
    dynchunktrain_config)`` returning ``(output, extras)``. An encoder whose
    class sets ``uses_src_mask = False`` (the SummaryMixing encoders) gets no
    (time x time) attention mask, so nothing quadratic is built for it.

    Arguments
    ---------
    encoder : torch.nn.Module
        The encoder, e.g. ``speechbrain.lobes.models.transformer.Conformer.
        ConformerEncoder``.
    input_size : int
        Feature size after the front end (flattened), e.g. 640 for
        SpeechBrain's ``ConvolutionFrontEnd`` on 80 Fbanks with 32 channels.
    d_model : int
        Width of the encoder.
    front_end : torch.nn.Module, optional
        Module applied to the features first (e.g. the CNN subsampler). Its
        4-D output ``(batch, time, ch1, ch2)`` is flattened to 3-D.
    positional_encoding : str
        ``"RelPosMHAXL"``: relative positional embeddings passed to the
        encoder as ``pos_embs`` (what SpeechBrain's RelPosMHAXL attention
        needs); ``"fixed_abs_sine"``: sine positions added to the input
        (SpeechBrain's ``PositionalEncoding``); ``"none"``: no positions
        (the convolution modules carry them, as in the SummaryMixing paper).
    dropout : float
        Dropout after the input projection.
    causal : bool
        Whether the encoder's attention mask forbids looking ahead.

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import (
    ...     ConformerEncoder,
    ... )
    >>> enc = ASREncoder(
    ...     encoder=ConformerEncoder(num_layers=2, d_model=64, d_ffn=128,
    ...                              nhead=4, kernel_size=7),
    ...     input_size=40, d_model=64)
    >>> feats = torch.rand(3, 50, 40)
    >>> out = enc(feats, torch.tensor([1.0, 0.8, 0.5]))
    >>> out.shape
    torch.Size([3, 50, 64])
    """

    def __init__(
        self,
        encoder,
        input_size,
        d_model,
        front_end=None,
        positional_encoding="RelPosMHAXL",
        dropout=0.1,
        causal=False,
    ):
        super().__init__()
        if positional_encoding not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"positional_encoding={positional_encoding!r}: expected one "
                f"of {POSITIONAL_ENCODINGS}."
            )
        self.front_end = front_end
        self.encoder = encoder
        self.causal = causal
        self.projection = torch.nn.Sequential(
            Linear(input_size=input_size, n_neurons=d_model),
            torch.nn.Dropout(dropout),
        )
        self.positional_encoding = positional_encoding
        self.pos_enc = None
        if positional_encoding == "RelPosMHAXL":
            self.pos_enc = RelPosEncXL(d_model)
        elif positional_encoding == "fixed_abs_sine":
            self.pos_enc = PositionalEncoding(d_model)

    @property
    def layers(self):
        """The stack's layers (SpeechBrain's layout, for the layer loop:
        `speechbrain_ee.lobes.layer_loop`)."""
        return self.encoder.layers

    @property
    def norm(self):
        """The stack's final normalisation."""
        return self.encoder.norm

    def embed(self, feats):
        """Runs the front end and the input projection.

        Arguments
        ---------
        feats : torch.Tensor
            Features ``(batch, time, n_feats)``.

        Returns
        -------
        torch.Tensor
            ``(batch, time', d_model)``.
        """
        x = feats if self.front_end is None else self.front_end(feats)
        return self.project(x)

    def project(self, x, offset=0):
        """The input projection (and absolute positions) of the front end's
        output.

        Arguments
        ---------
        x : torch.Tensor
            The front end's output ``(batch, time, ...)`` (4-D is flattened).
        offset : int
            Position of its first frame in the stream (absolute positions).

        Returns
        -------
        torch.Tensor
            ``(batch, time, d_model)``.
        """
        if x.dim() == 4:
            x = x.reshape(x.shape[0], x.shape[1], -1)
        x = self.projection(x)
        if self.positional_encoding == "fixed_abs_sine":
            if offset + x.shape[1] > self.pos_enc.pe.shape[1]:
                raise ValueError(
                    f"absolute positions end at frame {self.pos_enc.pe.shape[1]}: "
                    "a stream this long needs an encoder without them.")
            x = x + self.pos_enc.pe[:, offset: offset + x.shape[1]]
        return x

    def masks(
        self,
        x,
        wav_lens=None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """The key padding mask (True where padded) and the attention mask.

        Arguments
        ---------
        x : torch.Tensor
            Embedded input ``(batch, time, d_model)``.
        wav_lens : torch.Tensor, optional
            Relative lengths in ``[0, 1]``.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Dynamic chunk training configuration (streaming).

        Returns
        -------
        src_key_padding_mask : torch.Tensor or None
        src_mask : torch.Tensor or None
        """
        if not getattr(self.encoder, "uses_src_mask", True):
            causal, dynchunktrain_config = False, None  # no T x T mask
        else:
            causal = self.causal
        src_key_padding_mask, _, src_mask, _ = make_transformer_src_tgt_masks(
            x,
            None,
            wav_lens,
            causal=causal,
            dynchunktrain_config=dynchunktrain_config,
        )
        return src_key_padding_mask, src_mask

    def forward(
        self,
        feats,
        wav_lens=None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Encodes a batch of features.

        Arguments
        ---------
        feats : torch.Tensor
            Features ``(batch, time, n_feats)``.
        wav_lens : torch.Tensor, optional
            Relative lengths in ``[0, 1]``.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Dynamic chunk training configuration (streaming).

        Returns
        -------
        torch.Tensor
            The encoder's output ``(batch, time', d_model)``.
        """
        return self.from_state(self.start_state(feats, wav_lens, dynchunktrain_config))

    def from_state(self, state):
        """The stack on the front end's output (`start_state`).

        Arguments
        ---------
        state : EncoderState
            The batch before the first layer.

        Returns
        -------
        torch.Tensor
            The encoder's output ``(batch, time', d_model)``.
        """
        out = self.encoder(
            state.x,
            src_mask=state.src_mask,
            src_key_padding_mask=state.src_key_padding_mask,
            pos_embs=state.pos_embs,
            dynchunktrain_config=state.dynchunktrain_config,
        )
        return out[0] if isinstance(out, (tuple, list)) else out

    def start_state(
        self,
        feats,
        wav_lens=None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """The encoder's input with its masks, before the first layer.

        Wrappers that run ``encoder.layers`` one at a time (early exits,
        blank skip) start from here; see `speechbrain_ee.lobes.layer_loop`.

        Arguments
        ---------
        feats : torch.Tensor
            Features ``(batch, time, n_feats)``.
        wav_lens : torch.Tensor, optional
            Relative lengths in ``[0, 1]``.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Dynamic chunk training configuration (streaming).

        Returns
        -------
        EncoderState
        """
        x = self.embed(feats)
        src_key_padding_mask, src_mask = self.masks(
            x, wav_lens, dynchunktrain_config
        )
        pos_embs = None
        if self.positional_encoding == "RelPosMHAXL":
            pos_embs = self.pos_enc(x)
        return EncoderState.start(
            x,
            src_key_padding_mask=src_key_padding_mask,
            src_mask=src_mask,
            pos_embs=pos_embs,
            dynchunktrain_config=dynchunktrain_config,
        )

    def make_streaming_context(self, dynchunktrain_config: DynChunkTrainConfig):
        """A blank streaming state, for `forward_streaming`.

        Arguments
        ---------
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size (frames after the front end) and left context (in
            chunks; ``None``: all the past).

        Returns
        -------
        ASREncoderStreamingContext

        Raises
        ------
        ValueError
            The stack cannot stream (no ``forward_streaming``).
        """
        if not hasattr(self.encoder, "forward_streaming"):
            raise ValueError(
                f"{type(self.encoder).__name__} cannot stream (it has no "
                "forward_streaming); use a Conformer trained with dynamic "
                "chunks (hparams/conformer_summarymixing_streaming_ctc.yaml "
                "or conformer_streaming_ctc.yaml).")
        context = self.encoder.make_streaming_context(dynchunktrain_config)
        if dynchunktrain_config.left_context_size is None:
            # SpeechBrain's Conformer layers keep `mha_left_context_size`
            # frames of the past, an int: all of it is the whole stream
            # (2**62 frames; torch warns about slices from -sys.maxsize).
            for layer in getattr(context, "layers", []):
                if getattr(layer, "mha_left_context_size", 0) is None:
                    layer.mha_left_context_size = 2**62
        return ASREncoderStreamingContext(dynchunktrain_config, context)

    def forward_streaming(self, x, context: ASREncoderStreamingContext):
        """Encodes the front end's output for one chunk of a stream.

        Chunk after chunk of ``context.config.chunk_size`` frames (the last
        may be shorter), the outputs are those of `from_state` on the whole
        stream with the same ``dynchunktrain_config`` (the chunk-masked
        pass), up to float rounding.

        Arguments
        ---------
        x : torch.Tensor
            The front end's output for the chunk, ``(batch, time, ...)``.
        context : ASREncoderStreamingContext
            Mutable state from `make_streaming_context`.

        Returns
        -------
        torch.Tensor
            ``(batch, time, d_model)``.

        Example
        -------
        >>> from speechbrain.lobes.models.transformer.Conformer import (
        ...     ConformerEncoder)
        >>> enc = ASREncoder(ConformerEncoder(num_layers=2, d_model=16, d_ffn=32,
        ...                                   nhead=2, kernel_size=3),
        ...                  input_size=8, d_model=16).eval()
        >>> config = DynChunkTrainConfig(chunk_size=4, left_context_size=1)
        >>> feats = torch.rand(1, 10, 8)
        >>> context = enc.make_streaming_context(config)
        >>> streamed = torch.cat([enc.forward_streaming(c, context)
        ...                       for c in feats.split(4, dim=1)], dim=1)
        >>> torch.allclose(streamed, enc(feats, dynchunktrain_config=config), atol=1e-5)
        True
        """
        x = self.project(x, offset=context.frames)
        pos_embs = None
        if self.positional_encoding == "RelPosMHAXL":
            # relative positions over the frames attended to: the kept past
            # and the chunk
            left = context.config.left_context_size_frames()
            past = context.frames if left is None else min(context.frames, left)
            pos_embs = self.pos_enc.make_pe(seq_len=past + x.shape[1])
        out = self.encoder.forward_streaming(x, context.encoder, pos_embs=pos_embs)
        context.frames += x.shape[1]
        return out[0] if isinstance(out, (tuple, list)) else out
