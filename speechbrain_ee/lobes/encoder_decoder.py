"""An attention encoder-decoder for joint CTC+attention ASR: any
`ASREncoder` plus SpeechBrain's Transformer decoder.

SpeechBrain's ``TransformerASR`` builds its encoder from a fixed list of
names; ``EncoderDecoderASR`` takes the acoustic encoder as an object
(`speechbrain_ee.lobes.asr_encoder.ASREncoder`, wrapping SpeechBrain's
``ConformerEncoder`` or a SummaryMixing encoder) and builds the decoder side
exactly as ``TransformerASR`` does: ``NormalizedEmbedding`` of the target
tokens, fixed sine positions (``PositionalEncoding``) and a causal
``TransformerDecoder`` with regular multi-head attention over the encoder
output. Its ``decode`` has ``TransformerASR.decode``'s contract, so
SpeechBrain's ``S2STransformerBeamSearcher`` and
``S2STransformerGreedySearcher`` (and ``CTCScorer`` for joint CTC/attention
scoring) drive it unchanged.

Authors
-------
* speechbrain-ee contributors 2026
"""

from typing import Optional

import torch
from speechbrain.dataio.dataio import length_to_mask
from speechbrain.lobes.models.transformer.Transformer import (
    NormalizedEmbedding,
    PositionalEncoding,
    TransformerDecoder,
    get_key_padding_mask,
    get_lookahead_mask,
)
from speechbrain.nnet.containers import ModuleList
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig


def _padding_mask(lengths, max_len):
    """True where padded: ``(batch, max_len)`` from absolute lengths."""
    return ~length_to_mask(lengths, max_len=max_len).bool()


class EncoderDecoderASR(torch.nn.Module):
    """An acoustic encoder and a Transformer decoder attending to it.

    The decoder side mirrors SpeechBrain's ``TransformerASR``: token
    embedding scaled by ``sqrt(d_model)`` (``NormalizedEmbedding``), sine
    positions added to it, and a ``TransformerDecoder`` (causal self-attention,
    regular multi-head cross-attention, whatever the encoder's attention).
    The output layers (``seq_lin`` for attention, ``ctc_lin`` for CTC) stay
    outside, as in SpeechBrain's recipes.

    Arguments
    ---------
    encoder : speechbrain_ee.lobes.asr_encoder.ASREncoder
        The acoustic encoder: ``encoder(feats, wav_lens)`` returns
        ``(batch, time', d_model)``.
    tgt_vocab : int
        Number of output tokens (embedding rows).
    d_model : int
        Width of the encoder output and of the decoder.
    num_decoder_layers : int
        Decoder layers (6 in the LibriSpeech recipes).
    nhead : int
        Attention heads of the decoder.
    d_ffn : int
        Hidden size of the decoder's feed-forward modules.
    dropout : float
        Dropout of the decoder.
    activation : type
        Activation class of the decoder's feed-forward modules, e.g.
        ``torch.nn.GELU`` (``TransformerASR``'s default: ``torch.nn.ReLU``).
    normalize_before : bool
        Pre-norm decoder layers (True in SpeechBrain's Conformer recipes).
    max_length : int
        Longest target sequence for the sine positions.
    xavier_init : bool
        Re-initialise every weight matrix of the encoder (its front end
        excepted) and the decoder with ``xavier_normal_``, as
        ``TransformerASR`` does for everything it holds (SpeechBrain's
        recipes keep the CNN front end outside ``TransformerASR``).

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import (
    ...     ConformerEncoder,
    ... )
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> encoder = ASREncoder(
    ...     encoder=ConformerEncoder(num_layers=1, d_model=32, d_ffn=64,
    ...                              nhead=4, kernel_size=7),
    ...     input_size=20, d_model=32)
    >>> model = EncoderDecoderASR(encoder, tgt_vocab=30, d_model=32,
    ...                           num_decoder_layers=1, nhead=4, d_ffn=64)
    >>> feats = torch.rand(2, 40, 20)
    >>> tokens_bos = torch.randint(1, 30, (2, 7))
    >>> enc_out, dec_out = model(feats, torch.tensor([1.0, 0.5]), tokens_bos)
    >>> enc_out.shape, dec_out.shape
    (torch.Size([2, 40, 32]), torch.Size([2, 7, 32]))
    """

    def __init__(
        self,
        encoder,
        tgt_vocab,
        d_model,
        num_decoder_layers=6,
        nhead=8,
        d_ffn=2048,
        dropout=0.1,
        activation=torch.nn.ReLU,
        normalize_before=True,
        max_length=2500,
        xavier_init=True,
    ):
        super().__init__()
        self.encoder = encoder
        # Same attribute names as TransformerASR, so that its decoder-side
        # parameters load into this module by name.
        self.custom_tgt_module = ModuleList(
            NormalizedEmbedding(d_model, tgt_vocab)
        )
        self.positional_encoding_decoder = PositionalEncoding(
            d_model, max_length
        )
        self.decoder = TransformerDecoder(
            num_layers=num_decoder_layers,
            nhead=nhead,
            d_ffn=d_ffn,
            d_model=d_model,
            dropout=dropout,
            activation=activation,
            normalize_before=normalize_before,
            causal=True,
            attention_type="regularMHA",
        )
        if xavier_init:
            self._init_params()

    def _init_params(self):
        """``xavier_normal_`` on every matrix but the front end's."""
        front_end = getattr(self.encoder, "front_end", None)
        skip = set()
        if front_end is not None:
            skip = {id(p) for p in front_end.parameters()}
        for p in self.parameters():
            if p.dim() > 1 and id(p) not in skip:
                torch.nn.init.xavier_normal_(p)

    def encode(
        self,
        feats,
        wav_lens=None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Runs the acoustic encoder only.

        Arguments
        ---------
        feats : torch.Tensor
            Features ``(batch, time, n_feats)``.
        wav_lens : torch.Tensor, optional
            Relative lengths in ``[0, 1]``.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Dynamic chunk training configuration (streaming encoders).

        Returns
        -------
        torch.Tensor
            The encoder output ``(batch, time', d_model)``.

        Example
        -------
        >>> from speechbrain.lobes.models.transformer.Conformer import (
        ...     ConformerEncoder,
        ... )
        >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
        >>> model = EncoderDecoderASR(
        ...     ASREncoder(ConformerEncoder(1, 32, 64, 4, kernel_size=7),
        ...                input_size=20, d_model=32),
        ...     tgt_vocab=30, d_model=32, num_decoder_layers=1, nhead=4,
        ...     d_ffn=64)
        >>> model.encode(torch.rand(2, 40, 20)).shape
        torch.Size([2, 40, 32])
        """
        return self.encoder(feats, wav_lens, dynchunktrain_config)

    def _embed_targets(self, tgt):
        """Token embedding plus sine positions, as in ``TransformerASR``."""
        tgt = self.custom_tgt_module(tgt)
        return tgt + self.positional_encoding_decoder(tgt)

    def forward(self, feats, wav_lens, tgt_tokens, pad_idx=0):
        """Encodes the features and decodes the targets (teacher forcing).

        Arguments
        ---------
        feats : torch.Tensor
            Features ``(batch, time, n_feats)``.
        wav_lens : torch.Tensor
            Relative lengths in ``[0, 1]``.
        tgt_tokens : torch.Tensor
            Decoder input tokens ``(batch, n_tokens)``: bos then the
            transcript, padded with ``pad_idx``.
        pad_idx : int
            The padding token (masked in the decoder's self-attention).

        Returns
        -------
        encoder_out : torch.Tensor
            ``(batch, time', d_model)``, for the CTC head.
        decoder_out : torch.Tensor
            ``(batch, n_tokens, d_model)``, for the attention head.

        Example
        -------
        >>> from speechbrain.lobes.models.transformer.Conformer import (
        ...     ConformerEncoder,
        ... )
        >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
        >>> model = EncoderDecoderASR(
        ...     ASREncoder(ConformerEncoder(1, 32, 64, 4, kernel_size=7),
        ...                input_size=20, d_model=32),
        ...     tgt_vocab=30, d_model=32, num_decoder_layers=1, nhead=4,
        ...     d_ffn=64)
        >>> tokens_bos = torch.tensor([[1, 5, 6, 7], [1, 8, 0, 0]])
        >>> _, dec_out = model(torch.rand(2, 40, 20), torch.ones(2),
        ...                    tokens_bos)
        >>> dec_out.shape
        torch.Size([2, 4, 32])
        """
        encoder_out = self.encoder(feats, wav_lens)
        src_key_padding_mask = None
        if wav_lens is not None:
            # make_transformer_src_tgt_masks' rule, on the encoder's time axis
            n_frames = encoder_out.shape[1]
            src_key_padding_mask = _padding_mask(
                torch.round(wav_lens * n_frames), n_frames
            )
        tgt_key_padding_mask = get_key_padding_mask(tgt_tokens, pad_idx)
        tgt_mask = get_lookahead_mask(tgt_tokens)
        decoder_out, _, _ = self.decoder(
            tgt=self._embed_targets(tgt_tokens),
            memory=encoder_out,
            memory_mask=None,
            tgt_mask=tgt_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=src_key_padding_mask,
        )
        return encoder_out, decoder_out

    @torch.no_grad()
    def decode(self, tgt, encoder_out, enc_len=None):
        """One decoding step: the decoder over the tokens produced so far.

        ``TransformerASR.decode``'s contract, which SpeechBrain's
        ``S2STransformerBeamSearcher`` relies on.

        Arguments
        ---------
        tgt : torch.Tensor
            Tokens so far ``(batch, n_tokens)``, starting with bos.
        encoder_out : torch.Tensor
            Encoder output ``(batch, time', d_model)``.
        enc_len : torch.Tensor, optional
            Absolute lengths of the encoder output (frames).

        Returns
        -------
        prediction : torch.Tensor
            Decoder output ``(batch, n_tokens, d_model)`` (the searcher
            applies ``seq_lin`` to the last step).
        attention : torch.Tensor
            Cross-attention weights of the last decoder layer.

        Example
        -------
        >>> from speechbrain.lobes.models.transformer.Conformer import (
        ...     ConformerEncoder,
        ... )
        >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
        >>> model = EncoderDecoderASR(
        ...     ASREncoder(ConformerEncoder(1, 32, 64, 4, kernel_size=7),
        ...                input_size=20, d_model=32),
        ...     tgt_vocab=30, d_model=32, num_decoder_layers=1, nhead=4,
        ...     d_ffn=64).eval()
        >>> enc_out = model.encode(torch.rand(2, 40, 20))
        >>> pred, attn = model.decode(torch.tensor([[1], [1]]), enc_out,
        ...                           torch.tensor([40, 25]))
        >>> pred.shape
        torch.Size([2, 1, 32])
        """
        tgt_mask = get_lookahead_mask(tgt)
        src_key_padding_mask = None
        if enc_len is not None:
            src_key_padding_mask = _padding_mask(
                enc_len, encoder_out.shape[1]
            )
        prediction, _, multihead_attns = self.decoder(
            self._embed_targets(tgt),
            encoder_out,
            tgt_mask=tgt_mask,
            memory_key_padding_mask=src_key_padding_mask,
        )
        return prediction, multihead_attns[-1]
