"""The one layer loop of speechbrain-ee's dynamic encoders.

Early exits drop *utterances* from a batch once they are done; CTC
blank-skip drops *frames* that are almost surely blank before the last
layers. Both run the layers of an encoder stack one at a time on a batch
that shrinks, and both must map the results back to the original batch.
`EncoderState` carries a batch through the layers together with that
bookkeeping (which original row, which original frame), and `run_layers`
is the loop, so the wrappers share it and compose.

Any encoder with SpeechBrain's layout works: ``encoder.start_state`` (the
batch before the first layer), ``encoder.layers`` (layers with the
signature ``layer(x, src_mask, src_key_padding_mask, pos_embs,
dynchunktrain_config) -> (x, extra)``) and ``encoder.norm`` (the final
normalisation): an ``ASREncoder`` around SpeechBrain's ``ConformerEncoder``,
``BranchformerEncoder``, ``TransformerEncoder`` or our SummaryMixing
encoders, and the SSL encoder, distilled students and routed models (around
a HuBERT/wav2vec2 Transformer, ``speechbrain_ee.distill.hubert``).

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass, replace
from typing import Optional

import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig


@dataclass
class EncoderState:
    """A batch between two layers of an encoder stack.

    Example
    -------
    >>> state = EncoderState.start(
    ...     torch.rand(3, 5, 4),
    ...     torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 1, 1, 1]],
    ...                  dtype=torch.bool))
    >>> state.lengths.tolist()
    [5, 3, 2]
    >>> later = state.select_rows(torch.tensor([False, True, True]))
    >>> later.rows.tolist(), later.x.shape  # padding trimmed
    ([1, 2], torch.Size([2, 3, 4]))
    """

    x: torch.Tensor
    """``[batch, time, d_model]``: the current hidden states."""

    src_key_padding_mask: torch.Tensor
    """``[batch, time]``, True where padded."""

    rows: torch.Tensor
    """``[batch]``: each row's index in the original batch."""

    frames: Optional[torch.Tensor] = None
    """``[batch, time]``: each position's frame in the original utterance
    (padding positions hold 0); ``None`` while no frame was dropped."""

    src_mask: Optional[torch.Tensor] = None
    """``[time, time]`` attention mask (causal or chunked), if any."""

    pos_embs: Optional[torch.Tensor] = None
    """Relative positional embeddings ``[1, 2 * time - 1, d_model]``, if
    the layers use them (RelPosMHAXL)."""

    dynchunktrain_config: Optional[DynChunkTrainConfig] = None
    """Dynamic chunk configuration, if streaming."""

    @classmethod
    def start(
        cls,
        x,
        src_key_padding_mask=None,
        src_mask=None,
        pos_embs=None,
        dynchunktrain_config=None,
    ):
        """The state of a full batch before the first layer.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, time, d_model]``.
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, time]``, True where padded; ``None``: nothing padded.
        src_mask : torch.Tensor, optional
            ``[time, time]`` attention mask.
        pos_embs : torch.Tensor, optional
            Relative positional embeddings.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Streaming configuration.

        Returns
        -------
        EncoderState
        """
        if src_key_padding_mask is None:
            src_key_padding_mask = torch.zeros(
                x.shape[:2], dtype=torch.bool, device=x.device
            )
        return cls(
            x=x,
            src_key_padding_mask=src_key_padding_mask,
            rows=torch.arange(x.shape[0], device=x.device),
            src_mask=src_mask,
            pos_embs=pos_embs,
            dynchunktrain_config=dynchunktrain_config,
        )

    @property
    def lengths(self):
        """``[batch]`` number of real positions of each row."""
        return (~self.src_key_padding_mask).sum(dim=1)

    @property
    def batch_size(self):
        """Number of rows still in the batch."""
        return self.x.shape[0]

    def select_rows(self, keep):
        """The rows where ``keep`` is True, padding trimmed to the longest.

        Arguments
        ---------
        keep : torch.Tensor
            ``[batch]`` bool.

        Returns
        -------
        EncoderState
        """
        index = keep.nonzero(as_tuple=True)[0]
        state = replace(
            self,
            x=self.x[index],
            src_key_padding_mask=self.src_key_padding_mask[index],
            rows=self.rows[index],
            frames=None if self.frames is None else self.frames[index],
        )
        longest = int(state.lengths.max()) if len(index) else 0
        return state._trim(longest)

    def select_frames(self, keep):
        """Keeps, in each row, the real frames where ``keep`` is True.

        The kept frames of a row are packed to the left in their order; the
        new sequence gets its own padding mask, and `frames` remembers where
        each kept frame came from.

        Arguments
        ---------
        keep : torch.Tensor
            ``[batch, time]`` bool; padded positions are dropped anyway.

        Returns
        -------
        EncoderState

        Example
        -------
        >>> state = EncoderState.start(torch.arange(8.).view(2, 4, 1))
        >>> packed = state.select_frames(
        ...     torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1]], dtype=torch.bool))
        >>> packed.x[..., 0].tolist(), packed.frames.tolist()
        ([[0.0, 2.0, 0.0], [5.0, 6.0, 7.0]], [[0, 2, 0], [1, 2, 3]])
        """
        if self.src_mask is not None or self.dynchunktrain_config is not None:
            raise ValueError(
                "Dropping frames needs a full-context encoder: a causal or "
                "chunked attention mask (src_mask / dynchunktrain_config) "
                "is defined on positions that frame dropping would change."
            )
        keep = keep & ~self.src_key_padding_mask
        lengths = keep.sum(dim=1)
        longest = int(lengths.max()) if keep.shape[0] else 0
        # Stable sort puts the kept positions first, in their order.
        order = torch.sort((~keep).to(torch.int8), dim=1, stable=True)[1]
        order = order[:, :longest]
        positions = torch.arange(longest, device=keep.device)
        padding = positions.unsqueeze(0) >= lengths.unsqueeze(1)
        frames = self.original_frames().gather(1, order)
        x = self.x.gather(
            1, order.unsqueeze(-1).expand(-1, -1, self.x.shape[-1])
        )
        return replace(
            self,
            x=x.masked_fill(padding.unsqueeze(-1), 0.0),
            src_key_padding_mask=padding,
            frames=frames.masked_fill(padding, 0),
            pos_embs=_center_pos_embs(self.pos_embs, longest),
        )

    def original_frames(self):
        """``[batch, time]``: the original frame of each position."""
        if self.frames is not None:
            return self.frames
        positions = torch.arange(self.x.shape[1], device=self.x.device)
        return positions.unsqueeze(0).expand(self.x.shape[0], -1)

    def scatter_frames(self, values, template):
        """Writes per-position ``values`` into the original frame layout.

        Arguments
        ---------
        values : torch.Tensor
            ``[batch, time, ...]`` for the current positions.
        template : torch.Tensor
            ``[batch, original_time, ...]``: the values of the frames that
            were dropped (and of padding); its rows match the current ones.

        Returns
        -------
        torch.Tensor
            ``template`` with the real positions' ``values`` written in.
        """
        original_time = template.shape[1]
        # Padding positions write to one extra frame, dropped at the end.
        index = self.original_frames().masked_fill(
            self.src_key_padding_mask, original_time
        )
        index = index.view(*index.shape, *([1] * (values.dim() - 2)))
        extra = template[:, :1]
        out = torch.cat([template, extra], dim=1)
        out = out.scatter(1, index.expand_as(values), values)
        return out[:, :original_time]

    def _trim(self, length):
        """Drops the trailing positions past ``length``."""
        if length == self.x.shape[1]:
            return self
        src_mask = self.src_mask
        if src_mask is not None:
            src_mask = src_mask[:length, :length]
        return replace(
            self,
            x=self.x[:, :length],
            src_key_padding_mask=self.src_key_padding_mask[:, :length],
            frames=None if self.frames is None else self.frames[:, :length],
            src_mask=src_mask,
            pos_embs=_center_pos_embs(self.pos_embs, length),
        )


def _center_pos_embs(pos_embs, length):
    """Relative positional embeddings for a shorter sequence.

    SpeechBrain's ``RelPosEncXL`` embeds the relative positions
    ``time - 1, ..., 0, ..., -(time - 1)``; the embeddings of a shorter
    sequence are the middle of those of a longer one.
    """
    if pos_embs is None:
        return None
    center = (pos_embs.shape[1] - 1) // 2
    return pos_embs[:, center - length + 1 : center + length]


def layered_stack(encoder, purpose):
    """An encoder checked to have the layout the layer loop needs:
    ``start_state`` (the batch before the first layer), ``layers`` (with
    SpeechBrain's layer signature) and ``norm`` (after the last layer), as
    `speechbrain_ee.lobes.asr_encoder.ASREncoder` around SpeechBrain's
    encoders has them, and the encoders around a HuBERT/wav2vec2
    Transformer (`speechbrain_ee.distill.hubert.TransformerLayerLoop`).

    Arguments
    ---------
    encoder : torch.nn.Module
        Front end and stack.
    purpose : str
        What needs the layout, for the error message (e.g. "early exits").

    Returns
    -------
    torch.nn.Module
        ``encoder``.

    Example
    -------
    >>> layered_stack(torch.nn.Linear(2, 2), "early exits")
    Traceback (most recent call last):
    ...
    TypeError: Linear has no `start_state`/`layers`/`norm`: the encoder for early exits must be laid out as SpeechBrain's (an ASREncoder around one of SpeechBrain's encoders, or an encoder around a HuBERT/wav2vec2 Transformer).
    """
    missing = [name for name in ("start_state", "layers", "norm")
               if not hasattr(encoder, name)]
    if missing:
        name = type(encoder).__name__
        stack = getattr(encoder, "encoder", None)
        if isinstance(stack, torch.nn.Module):  # e.g. an ASREncoder's stack
            name = f"{name} around {type(stack).__name__}"
        raise TypeError(
            f"{name} has no `start_state`/`layers`/`norm`: the encoder for "
            f"{purpose} must be laid out as SpeechBrain's (an ASREncoder around "
            "one of SpeechBrain's encoders, or an encoder around a "
            "HuBERT/wav2vec2 Transformer).")
    return encoder


def run_layers(layers, state, start, stop):
    """Runs ``layers[start:stop]`` on a state.

    Arguments
    ---------
    layers : torch.nn.ModuleList
        Encoder layers with SpeechBrain's layer signature.
    state : EncoderState
        The batch before layer ``start``.
    start, stop : int
        Python slice bounds (0-based) of the layers to run.

    Returns
    -------
    EncoderState
        The batch after layer ``stop - 1``.

    Example
    -------
    >>> from speechbrain.lobes.models.transformer.Conformer import (
    ...     ConformerEncoder)
    >>> enc = ConformerEncoder(num_layers=2, d_model=16, d_ffn=32, nhead=2,
    ...                        attention_type="regularMHA").eval()
    >>> x = torch.rand(2, 6, 16)
    >>> state = run_layers(enc.layers, EncoderState.start(x), 0, 2)
    >>> torch.allclose(enc.norm(state.x), enc(x)[0], atol=1e-6)
    True
    """
    x = state.x
    for layer in layers[start:stop]:
        x, _ = layer(
            x,
            src_mask=state.src_mask,
            src_key_padding_mask=state.src_key_padding_mask,
            pos_embs=state.pos_embs,
            dynchunktrain_config=state.dynchunktrain_config,
        )
    return replace(state, x=x)
