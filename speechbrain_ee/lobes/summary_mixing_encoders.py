"""Conformer and Branchformer encoders with SummaryMixing instead of MHSA.

The layers are SpeechBrain's ``ConformerEncoderLayer`` and
``BranchformerEncoderLayer`` with the multi-head self-attention replaced by
`speechbrain_ee.nnet.summary_mixing.SummaryMixing`; everything else
(feed-forward modules, convolution module and its dynamic chunk convolution,
cgMLP branch, LayerNorms) is SpeechBrain's. The encoders keep SpeechBrain's
forward signature and expose ``layers`` (``torch.nn.ModuleList``) and
``norm`` (the final LayerNorm), so that code running ``encoder.layers`` one
by one and then ``encoder.norm`` works for both families.

Padding never leaks into real frames: SpeechBrain's convolution modules mask
(at most) their output, so a padded frame next to the end of an utterance
still feeds the depthwise convolution. `MaskedConvolutionModule` zeroes
padded frames right before the depthwise convolution (zeroing the module
*input* is not enough: the LayerNorm and pointwise convolution before it turn
zeros into a non-zero constant); `MaskedConvolutionBranch` (cgMLP) pads each
utterance by reflection at its own end, as SpeechBrain's cgMLP does at the
end of an unpadded utterance. With SummaryMixing averaging over real frames
only, the outputs of real frames are those of the unpadded utterance.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.lobes.models.transformer.Branchformer import ConvolutionBranch
from speechbrain.lobes.models.transformer.Conformer import ConvolutionModule
from speechbrain.nnet.activations import Swish
from speechbrain.nnet.attention import PositionalwiseFeedForward
from speechbrain.nnet.normalization import LayerNorm
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.nnet.summary_mixing import (
    SummaryMixing,
    SummaryMixingStreamingContext,
)


@dataclass
class SummaryMixingConformerEncoderLayerStreamingContext:
    """Streaming state of a `SummaryMixingConformerEncoderLayer`."""

    summary_mixing: SummaryMixingStreamingContext
    """Running summary statistics of the layer's SummaryMixing."""

    dcconv_left_context: Optional[torch.Tensor] = None
    """Last inputs of the convolution module, inserted at the left of the next
    chunk (Dynamic Chunk Convolution); ``None`` before the first chunk."""


@dataclass
class SummaryMixingConformerEncoderStreamingContext:
    """Streaming state of a `SummaryMixingConformerEncoder`."""

    dynchunktrain_config: DynChunkTrainConfig
    """Chunk size and left context of the stream."""

    layers: List[SummaryMixingConformerEncoderLayerStreamingContext]
    """Streaming state of each layer."""


class MaskedConvolutionModule(ConvolutionModule):
    """SpeechBrain's Conformer `ConvolutionModule`, padding-safe.

    Same parameters (and state dict) as SpeechBrain's module and the same
    output when nothing is padded; the padding mask also zeroes padded
    frames right before the depthwise convolution, so that they do not
    reach real frames. The chunked path computes SpeechBrain's Dynamic Chunk
    Convolution (each chunk sees ``padding`` frames of left context and
    zeros at its right).

    Arguments
    ---------
    input_size : int
        The expected size of the input embedding dimension.
    kernel_size : int, optional
        Kernel size of the depthwise convolution.
    bias : bool, optional
        Whether the convolutions and the last linear use biases.
    activation : torch.nn.Module, optional
        Activation after the depthwise convolution.
    dropout : float, optional
        Dropout rate.
    causal : bool, optional
        Whether the depthwise convolution is causal.
    dilation : int, optional
        Dilation of the depthwise convolution.

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> mask = torch.zeros(8, 60, 1, dtype=torch.bool)
    >>> net = MaskedConvolutionModule(64, 3)
    >>> net(x, mask).shape
    torch.Size([8, 60, 64])
    """

    def forward(
        self,
        x: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Applies the convolution module.

        Arguments
        ---------
        x : torch.Tensor
            Input ``[batch, time, input_size]``.
        mask : torch.Tensor, optional
            ``[batch, time, 1]``, True for padded frames: zeroed before the
            depthwise convolution and in the output.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Applies Dynamic Chunk Convolution with its chunk size.

        Returns
        -------
        torch.Tensor
            ``[batch, time, input_size]``.
        """
        out = self.bottleneck(self.layer_norm(x).transpose(1, 2))
        if mask is not None:
            out = out.masked_fill(mask.transpose(1, 2), 0.0)
        if dynchunktrain_config is None:
            out = self._depthwise(out)
        else:
            out = self._chunked_depthwise(out, dynchunktrain_config.chunk_size)
        out = self.after_conv(out.transpose(1, 2))
        if mask is not None:
            out = out.masked_fill(mask, 0.0)
        return out

    def _depthwise(self, x):
        """Depthwise convolution over ``[batch, channels, time]``."""
        out = self.conv(x)
        if self.causal:
            out = out[..., : -self.padding]  # chomp the right padding
        return out

    def _chunked_depthwise(self, x, chunk_size):
        """Dynamic Chunk Convolution over ``[batch, channels, time]``."""
        if self.causal or self.dilation != 1:
            raise ValueError(
                "Chunked convolution needs causal=False and dilation=1."
            )
        batch, time = x.shape[0], x.shape[-1]
        x = F.pad(x, (self.padding, -time % chunk_size))
        # [batch, channels, chunks, padding + chunk_size]: left context + chunk
        chunks = x.unfold(2, chunk_size + self.padding, chunk_size)
        chunks = F.pad(chunks, (0, self.padding))  # nothing right of a chunk
        chunks = chunks.transpose(1, 2).flatten(0, 1)
        out = F.conv1d(
            chunks, self.conv.weight, self.conv.bias, groups=self.conv.groups
        )
        out = out.unflatten(0, (batch, -1)).transpose(1, 2).flatten(2)
        return out[..., :time]


class MaskedConvolutionBranch(ConvolutionBranch):
    """SpeechBrain's Branchformer cgMLP `ConvolutionBranch`, padding-safe.

    Same parameters as SpeechBrain's branch and, without padding, the same
    output: the depthwise convolution of the gating unit pads the time axis
    by reflection, as SpeechBrain's cgMLP (and the SummaryMixing authors'
    Branchformer). With a padding mask, the reflection is taken at the end
    of each utterance (not at the end of the padded batch), so that the
    real frames of a padded utterance get the output of the unpadded one.
    ``padding_mode="constant"`` pads with zeros instead (ESPnet's cgMLP;
    this project's models trained before the change use it).

    Arguments
    ---------
    input_size : int
        The expected size of the feature (channel) dimension.
    linear_units : int, optional
        Number of neurons in the hidden linear units.
    kernel_size : int, optional
        Kernel size of the depthwise convolution of the gating unit.
    activation : torch.nn.Module, optional
        Activation after the first projection.
    gate_activation : torch.nn.Module, optional
        Activation at the gate.
    dropout : float, optional
        Dropout rate.
    use_linear_after_conv : bool, optional
        Linear of size ``linear_units // 2`` after the convolution.
    padding_mode : str, optional
        ``"reflect"`` (default, SpeechBrain's) or ``"constant"`` (zeros).

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> net = MaskedConvolutionBranch(64, 256, kernel_size=7)
    >>> net(x).shape
    torch.Size([8, 60, 64])
    """

    def __init__(self, *args, padding_mode="reflect", **kwargs):
        super().__init__(*args, **kwargs)
        if padding_mode not in ("reflect", "constant"):
            raise ValueError(
                f"padding_mode={padding_mode!r}: 'reflect' or 'constant'."
            )
        self.csgu.conv.padding_mode = padding_mode

    def forward(self, x, mask: Optional[torch.Tensor] = None):
        """Applies the branch.

        Arguments
        ---------
        x : torch.Tensor
            Input ``[batch, time, input_size]``.
        mask : torch.Tensor, optional
            ``[batch, time, 1]``, True for padded frames.

        Returns
        -------
        torch.Tensor
            ``[batch, time, input_size]``.
        """
        x = self.activation(self.pre_channel_proj(x))
        x = self._spatial_gating(x, mask)
        return self.post_channel_proj(x)

    def _spatial_gating(self, x, mask):
        """SpeechBrain's ConvolutionalSpatialGatingUnit, masked."""
        csgu = self.csgu
        x1, x2 = x.chunk(2, dim=-1)
        x2 = csgu.norm(x2)
        if mask is not None and csgu.conv.padding_mode == "constant":
            x2 = csgu.conv(x2.masked_fill(mask, 0.0))
        elif mask is not None:
            x2 = self._reflect_conv(x2, mask)
        else:
            x2 = csgu.conv(x2)
        if csgu.use_linear_after_conv:
            x2 = csgu.linear(x2)
        return csgu.dropout(csgu.activation(x2) * x1)

    def _reflect_conv(self, x, mask):
        """Depthwise convolution of ``x [batch, time, channels]`` with each
        utterance reflected at its own ends (one gather, no loop)."""
        conv = self.csgu.conv.conv
        left = (conv.kernel_size[0] - 1) // 2
        right = conv.kernel_size[0] - 1 - left
        lengths = (~mask[..., 0]).sum(dim=1, keepdim=True)  # [batch, 1]
        last = (lengths - 1).clamp(min=0)
        time = torch.arange(-left, x.shape[1] + right, device=x.device)
        index = time.abs().unsqueeze(0)  # reflect at the start
        index = torch.where(index > last, 2 * last - index, index)
        index = index.clamp(min=0).minimum(last)  # utterances < kernel / 2
        x = x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        out = F.conv1d(
            x.transpose(1, 2), conv.weight, conv.bias, groups=conv.groups
        )
        return out.transpose(1, 2)


def _check_attention_type(attention_type):
    """Accepts only ``"SummaryMixing"`` (the authors' YAML key)."""
    if attention_type != "SummaryMixing":
        raise ValueError(
            f"attention_type={attention_type!r}: these encoders support only "
            "'SummaryMixing'; use SpeechBrain's encoders for attention."
        )


def _padding_mask_3d(src_key_padding_mask):
    """``[batch, time]`` padding mask to ``[batch, time, 1]`` (or None)."""
    if src_key_padding_mask is None:
        return None
    return src_key_padding_mask.unsqueeze(-1)


def _feed_forward(d_model, d_ffn, activation, dropout):
    """SpeechBrain's pre-norm Conformer feed-forward module."""
    return nn.Sequential(
        nn.LayerNorm(d_model),
        PositionalwiseFeedForward(
            d_ffn=d_ffn,
            input_size=d_model,
            dropout=dropout,
            activation=activation,
        ),
        nn.Dropout(dropout),
    )


class SummaryMixingConformerEncoderLayer(nn.Module):
    """Conformer encoder layer with SummaryMixing instead of MHSA.

    Macaron feed-forward (x 1/2), pre-norm SummaryMixing with residual,
    convolution module, feed-forward (x 1/2), final LayerNorm: SpeechBrain's
    ``ConformerEncoderLayer`` with its attention swapped.

    Arguments
    ---------
    d_model : int
        The expected size of the input embedding.
    d_ffn : int
        Hidden size of the feed-forward modules.
    nhead : int
        Number of groups of the SummaryMixing local and summary MLPs.
    kernel_size : int, optional
        Kernel size of the convolution module.
    activation : torch.nn.Module, optional
        Activation of the feed-forward, convolution and SummaryMixing layers.
    bias : bool, optional
        Whether the convolution module uses biases.
    dropout : float, optional
        Dropout of the layer (SummaryMixing's included).
    causal : bool, optional
        Causal convolution and frame-causal summary.
    attention_type : str, optional
        Must be ``"SummaryMixing"`` (accepted for YAML familiarity).
    mode : str, optional
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` (needs
        ``summary_out_dim == d_model``) or ``"SummaryMixing-fast"``.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLP (default ``[d_model]``).
    local_proj_out_dim : int, optional
        Output size of the local MLP (default ``d_model``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLP (default ``[d_model]``).
    summary_out_dim : int, optional
        Output size of the summary MLP (default ``d_model``).
    use_layernorm : bool, optional
        LayerNorm on SummaryMixing's local output and summary mean.

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> net = SummaryMixingConformerEncoderLayer(64, 128, 4, kernel_size=3)
    >>> output = net(x)
    >>> output[0].shape
    torch.Size([8, 60, 64])
    """

    def __init__(
        self,
        d_model,
        d_ffn,
        nhead,
        kernel_size=31,
        activation=Swish,
        bias=True,
        dropout=0.0,
        causal=False,
        attention_type="SummaryMixing",
        mode="SummaryMixing",
        local_proj_hid_dim: Optional[List[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[List[int]] = None,
        summary_out_dim: Optional[int] = None,
        use_layernorm=True,
    ):
        super().__init__()
        _check_attention_type(attention_type)
        self.summary_mixing = SummaryMixing(
            enc_dim=d_model,
            nhead=nhead,
            local_proj_hid_dim=local_proj_hid_dim,
            local_proj_out_dim=local_proj_out_dim,
            summary_hid_dim=summary_hid_dim,
            summary_out_dim=summary_out_dim,
            activation=activation,
            mode=mode,
            use_layernorm=use_layernorm,
            dropout=dropout,
            causal=causal,
            output_dim=d_model,
        )
        if self.summary_mixing.output_size != d_model:
            raise ValueError(
                f"{mode} outputs {self.summary_mixing.output_size} features; "
                f"the residual needs d_model={d_model} (set summary_out_dim)."
            )
        self.convolution_module = MaskedConvolutionModule(
            d_model, kernel_size, bias, activation, dropout, causal=causal
        )
        self.ffn_module1 = _feed_forward(d_model, d_ffn, activation, dropout)
        self.ffn_module2 = _feed_forward(d_model, d_ffn, activation, dropout)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)

    def forward(
        self,
        x,
        src_mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        pos_embs: Optional[torch.Tensor] = None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Encodes a (padded) batch.

        Arguments
        ---------
        x : torch.Tensor
            Input ``[batch, time, d_model]``.
        src_mask : torch.Tensor, optional
            Ignored (see `SummaryMixing.forward`): causality and chunking
            come from ``causal`` and ``dynchunktrain_config``.
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, time]``, True where padded.
        pos_embs : torch.Tensor, optional
            Ignored: SummaryMixing uses no relative positions.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked summary and Dynamic Chunk Convolution.

        Returns
        -------
        x : torch.Tensor
            ``[batch, time, d_model]``.
        None
            In place of attention weights.
        """
        x = x + 0.5 * self.ffn_module1(x)
        x = x + self.summary_mixing(
            self.norm1(x),
            src_mask=src_mask,
            src_key_padding_mask=src_key_padding_mask,
            dynchunktrain_config=dynchunktrain_config,
        )
        x = x + self.convolution_module(
            x,
            _padding_mask_3d(src_key_padding_mask),
            dynchunktrain_config=dynchunktrain_config,
        )
        x = self.norm2(x + 0.5 * self.ffn_module2(x))
        return x, None

    def forward_streaming(
        self,
        x,
        context: SummaryMixingConformerEncoderLayerStreamingContext,
        pos_embs: Optional[torch.Tensor] = None,
    ):
        """Encodes one chunk of a stream and updates ``context``.

        Arguments
        ---------
        x : torch.Tensor
            One chunk ``[batch, chunk_time, d_model]``.
        context : SummaryMixingConformerEncoderLayerStreamingContext
            Mutable state from `make_streaming_context`.
        pos_embs : torch.Tensor, optional
            Ignored.

        Returns
        -------
        x : torch.Tensor
            ``[batch, chunk_time, d_model]``.
        None
            In place of attention weights.
        """
        chunk_len = x.shape[1]
        x = x + 0.5 * self.ffn_module1(x)
        x = x + self.summary_mixing.forward_streaming(
            self.norm1(x), context.summary_mixing
        )
        # Dynamic Chunk Convolution: the convolution sees the last inputs of
        # the previous chunks on its left, as in SpeechBrain's Conformer.
        if context.dcconv_left_context is not None:
            x = torch.cat((context.dcconv_left_context, x), dim=1)
        # (the last `padding` frames, which span several chunks when chunks
        # are shorter than the kernel's half width)
        left_start = max(0, x.shape[1] - self.convolution_module.padding)
        context.dcconv_left_context = x[:, left_start:]
        x = x + self.convolution_module(x)
        x = x[:, -chunk_len:]
        x = self.norm2(x + 0.5 * self.ffn_module2(x))
        return x, None

    def make_streaming_context(self, left_context_size: Optional[int] = None):
        """Creates the blank streaming state of this layer.

        Arguments
        ---------
        left_context_size : int, optional
            Number of past chunks the summary sees (``None``: all).

        Returns
        -------
        SummaryMixingConformerEncoderLayerStreamingContext
        """
        return SummaryMixingConformerEncoderLayerStreamingContext(
            summary_mixing=self.summary_mixing.make_streaming_context(
                left_context_size
            )
        )


class SummaryMixingBranchformerEncoderLayer(nn.Module):
    """Branchformer encoder layer with SummaryMixing in the global branch.

    SpeechBrain's ``BranchformerEncoderLayer``: a pre-norm SummaryMixing
    branch beside a pre-norm cgMLP branch, concatenated and merged into the
    residual. With SummaryMixing the merge is an MLP (hidden sizes
    ``summary_hid_dim``, output ``d_model``, each linear followed by the
    activation) instead of one linear.

    Arguments
    ---------
    d_model : int
        The expected size of the input embedding.
    nhead : int
        Number of groups of the SummaryMixing local and summary MLPs.
    kernel_size : int, optional
        Kernel size of the cgMLP convolution.
    activation : torch.nn.Module, optional
        Activation of the cgMLP, SummaryMixing and merge layers.
    dropout : float, optional
        Dropout of the layer (SummaryMixing's included).
    attention_type : str, optional
        Must be ``"SummaryMixing"`` (accepted for YAML familiarity).
    csgu_linear_units : int, optional
        Hidden size of the cgMLP branch.
    gate_activation : torch.nn.Module, optional
        Activation at the gate of the cgMLP.
    use_linear_after_conv : bool, optional
        Linear after the cgMLP convolution.
    mode : str, optional
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` or
        ``"SummaryMixing-fast"``.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLP (default ``[d_model]``).
    local_proj_out_dim : int, optional
        Output size of the local MLP (default ``d_model``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLP and of the merge MLP (default
        ``[d_model]``).
    summary_out_dim : int, optional
        Output size of the summary MLP (default ``d_model``).
    use_layernorm : bool, optional
        LayerNorm on SummaryMixing's local output and summary mean.
    cgmlp_padding_mode : str, optional
        Time padding of the cgMLP convolution: ``"reflect"`` (SpeechBrain's
        and the authors') or ``"constant"`` (zeros; the default before).

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> net = SummaryMixingBranchformerEncoderLayer(
    ...     64, 1, kernel_size=3, csgu_linear_units=256
    ... )
    >>> output = net(x)
    >>> output[0].shape
    torch.Size([8, 60, 64])
    """

    def __init__(
        self,
        d_model,
        nhead,
        kernel_size=31,
        activation=nn.GELU,
        dropout=0.0,
        attention_type="SummaryMixing",
        csgu_linear_units=3072,
        gate_activation=nn.Identity,
        use_linear_after_conv=False,
        mode="SummaryMixing",
        local_proj_hid_dim: Optional[List[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[List[int]] = None,
        summary_out_dim: Optional[int] = None,
        use_layernorm=True,
        cgmlp_padding_mode="reflect",
    ):
        super().__init__()
        _check_attention_type(attention_type)
        if summary_hid_dim is None:
            summary_hid_dim = [d_model]
        summary_hid_dim = list(summary_hid_dim)
        if summary_out_dim is None:
            summary_out_dim = d_model
        self.summary_mixing = SummaryMixing(
            enc_dim=d_model,
            nhead=nhead,
            local_proj_hid_dim=local_proj_hid_dim,
            local_proj_out_dim=local_proj_out_dim,
            summary_hid_dim=summary_hid_dim,
            summary_out_dim=summary_out_dim,
            activation=activation,
            mode=mode,
            use_layernorm=use_layernorm,
            dropout=dropout,
            output_dim=summary_out_dim,  # the authors' merging output
        )
        self.convolution_branch = MaskedConvolutionBranch(
            input_size=d_model,
            kernel_size=kernel_size,
            linear_units=csgu_linear_units,
            activation=activation,
            gate_activation=gate_activation,
            dropout=dropout,
            use_linear_after_conv=use_linear_after_conv,
            padding_mode=cgmlp_padding_mode,
        )
        self.merge_proj = _merge_mlp(
            self.summary_mixing.output_size + d_model,
            summary_hid_dim + [d_model],
            activation,
        )
        self.norm_mhsa = LayerNorm(d_model)
        self.norm_conv = LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x,
        src_mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        pos_embs: Optional[torch.Tensor] = None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Encodes a (padded) batch.

        Arguments
        ---------
        x : torch.Tensor
            Input ``[batch, time, d_model]``.
        src_mask : torch.Tensor, optional
            Ignored (see `SummaryMixing.forward`).
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, time]``, True where padded.
        pos_embs : torch.Tensor, optional
            Ignored: SummaryMixing uses no relative positions.
        dynchunktrain_config : None
            Unsupported (as in SpeechBrain's Branchformer): must be None.

        Returns
        -------
        x : torch.Tensor
            ``[batch, time, d_model]``.
        None
            In place of attention weights.
        """
        if dynchunktrain_config is not None:
            raise ValueError("The Branchformer does not support chunking.")
        global_branch = self.summary_mixing(
            self.norm_mhsa(x),
            src_mask=src_mask,
            src_key_padding_mask=src_key_padding_mask,
        )
        local_branch = self.convolution_branch(
            self.norm_conv(x), _padding_mask_3d(src_key_padding_mask)
        )
        merged = torch.cat(
            [self.dropout(global_branch), self.dropout(local_branch)], dim=-1
        )
        return x + self.dropout(self.merge_proj(merged)), None


def _merge_mlp(input_size, layer_sizes, activation):
    """The Branchformer merge with SummaryMixing: linears + activations."""
    layers = []
    for size in layer_sizes:
        layers += [nn.Linear(input_size, size), activation()]
        input_size = size
    return nn.Sequential(*layers)


class _EncoderStack(nn.Module):
    """Runs ``self.layers`` then ``self.norm``, as SpeechBrain's encoders.

    Subclasses set ``layers``, ``norm``, ``layerdrop_prob`` and
    ``output_hidden_states``. ``uses_src_mask = False`` tells callers such
    as `ASREncoder` not to build a (time x time) attention mask: causality
    and chunking come from ``causal`` and ``dynchunktrain_config``.
    ``linear_time = True``: time and memory grow linearly with the length
    (`speechbrain_ee.lobes.contract.linear_time`).
    """

    uses_src_mask = False
    linear_time = True

    def forward(
        self,
        src,
        src_mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        pos_embs: Optional[torch.Tensor] = None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Encodes a (padded) batch.

        Arguments
        ---------
        src : torch.Tensor
            Input ``[batch, time, d_model]``.
        src_mask : torch.Tensor, optional
            Ignored by SummaryMixing (see `SummaryMixing.forward`).
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, time]``, True where padded.
        pos_embs : torch.Tensor, optional
            Ignored: SummaryMixing uses no relative positions (add absolute
            positions to ``src`` if wanted).
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked summaries and Dynamic Chunk Convolution (Conformer).

        Returns
        -------
        output : torch.Tensor
            ``[batch, time, d_model]``.
        attention_lst : list
            One ``None`` per layer run.
        hidden_state_lst : list, optional
            Input and output of every layer run, if ``output_hidden_states``.
        """
        output = src
        if self.training and self.layerdrop_prob > 0.0:
            keep = torch.rand(len(self.layers)) > self.layerdrop_prob
        else:
            keep = torch.ones(len(self.layers), dtype=torch.bool)
        attention_lst, hidden_state_lst = [], [output]
        for layer, keep_layer in zip(self.layers, keep):
            if not keep_layer:
                continue
            output, attention = layer(
                output,
                src_mask=src_mask,
                src_key_padding_mask=src_key_padding_mask,
                pos_embs=pos_embs,
                dynchunktrain_config=dynchunktrain_config,
            )
            attention_lst.append(attention)
            hidden_state_lst.append(output)
        output = self.norm(output)
        if self.output_hidden_states:
            return output, attention_lst, hidden_state_lst
        return output, attention_lst


class SummaryMixingConformerEncoder(_EncoderStack):
    """Conformer encoder with SummaryMixing (linear time in the length).

    Same forward signature, outputs and ``layers`` / ``norm`` attributes as
    SpeechBrain's ``ConformerEncoder``; streams chunk by chunk with
    `make_streaming_context` and `forward_streaming`.

    Arguments
    ---------
    num_layers : int
        Number of layers.
    d_model : int
        Embedding dimension size.
    d_ffn : int
        Hidden size of the feed-forward modules.
    nhead : int
        Number of groups of the SummaryMixing local and summary MLPs.
    kernel_size : int, optional
        Kernel size of the convolution modules.
    activation : torch.nn.Module, optional
        Activation used in every layer.
    bias : bool, optional
        Whether the convolution modules use biases.
    dropout : float, optional
        Dropout for the encoder.
    causal : bool, optional
        Causal convolutions and frame-causal summaries.
    attention_type : str, optional
        Must be ``"SummaryMixing"``.
    mode : str, optional
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` or
        ``"SummaryMixing-fast"``.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLPs (default ``[d_model]``).
    local_proj_out_dim : int, optional
        Output size of the local MLPs (default ``d_model``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLPs (default ``[d_model]``).
    summary_out_dim : int, optional
        Output size of the summary MLPs (default ``d_model``).
    use_layernorm : bool, optional
        LayerNorms inside SummaryMixing.
    output_hidden_states : bool, optional
        Whether to also return the hidden states of every layer.
    layerdrop_prob : float, optional
        Probability to skip a layer in training.

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> net = SummaryMixingConformerEncoder(2, 64, 128, 4, kernel_size=7)
    >>> output, _ = net(x)
    >>> output.shape
    torch.Size([8, 60, 64])
    """

    def __init__(
        self,
        num_layers,
        d_model,
        d_ffn,
        nhead,
        kernel_size=31,
        activation=Swish,
        bias=True,
        dropout=0.0,
        causal=False,
        attention_type="SummaryMixing",
        mode="SummaryMixing",
        local_proj_hid_dim: Optional[List[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[List[int]] = None,
        summary_out_dim: Optional[int] = None,
        use_layernorm=True,
        output_hidden_states=False,
        layerdrop_prob=0.0,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                SummaryMixingConformerEncoderLayer(
                    d_model=d_model,
                    d_ffn=d_ffn,
                    nhead=nhead,
                    kernel_size=kernel_size,
                    activation=activation,
                    bias=bias,
                    dropout=dropout,
                    causal=causal,
                    attention_type=attention_type,
                    mode=mode,
                    local_proj_hid_dim=local_proj_hid_dim,
                    local_proj_out_dim=local_proj_out_dim,
                    summary_hid_dim=summary_hid_dim,
                    summary_out_dim=summary_out_dim,
                    use_layernorm=use_layernorm,
                )
                for _ in range(num_layers)
            ]
        )
        self.norm = LayerNorm(d_model, eps=1e-6)
        self.attention_type = attention_type
        self.layerdrop_prob = layerdrop_prob
        self.output_hidden_states = output_hidden_states

    def forward_streaming(
        self,
        src: torch.Tensor,
        context: SummaryMixingConformerEncoderStreamingContext,
        pos_embs: Optional[torch.Tensor] = None,
    ):
        """Encodes one chunk of a stream and updates ``context``.

        Chunks of ``context.dynchunktrain_config.chunk_size`` frames (the
        last one may be shorter) give the output of `forward` with that
        config, up to float rounding. A causal encoder takes chunks of any
        length and matches its causal `forward`.

        Arguments
        ---------
        src : torch.Tensor
            One chunk ``[batch, chunk_time, d_model]``; batching works as
            long as the context is kept for the same batch.
        context : SummaryMixingConformerEncoderStreamingContext
            Mutable state from `make_streaming_context`.
        pos_embs : torch.Tensor, optional
            Ignored.

        Returns
        -------
        output : torch.Tensor
            ``[batch, chunk_time, d_model]``.
        attention_lst : list
            One ``None`` per layer.
        """
        output, attention_lst = src, []
        for layer, layer_context in zip(self.layers, context.layers):
            output, attention = layer.forward_streaming(output, layer_context)
            attention_lst.append(attention)
        return self.norm(output), attention_lst

    def make_streaming_context(
        self, dynchunktrain_config: DynChunkTrainConfig
    ):
        """Creates the blank streaming state of the encoder.

        Arguments
        ---------
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size and left context (in chunks) of the stream.

        Returns
        -------
        SummaryMixingConformerEncoderStreamingContext
        """
        return SummaryMixingConformerEncoderStreamingContext(
            dynchunktrain_config=dynchunktrain_config,
            layers=[
                layer.make_streaming_context(
                    dynchunktrain_config.left_context_size
                )
                for layer in self.layers
            ],
        )


class SummaryMixingBranchformerEncoder(_EncoderStack):
    """Branchformer encoder with SummaryMixing (linear time in the length).

    Same forward signature, outputs and ``layers`` / ``norm`` attributes as
    SpeechBrain's ``BranchformerEncoder``; like it, no chunking.

    Arguments
    ---------
    num_layers : int
        Number of layers.
    d_model : int
        Embedding dimension size.
    nhead : int
        Number of groups of the SummaryMixing local and summary MLPs.
    kernel_size : int, optional
        Kernel size of the cgMLP convolutions.
    activation : torch.nn.Module, optional
        Activation used in every layer.
    dropout : float, optional
        Dropout for the encoder.
    attention_type : str, optional
        Must be ``"SummaryMixing"``.
    csgu_linear_units : int, optional
        Hidden size of the cgMLP branches.
    gate_activation : torch.nn.Module, optional
        Activation at the gate of the cgMLPs.
    use_linear_after_conv : bool, optional
        Linear after the cgMLP convolutions.
    mode : str, optional
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` or
        ``"SummaryMixing-fast"``.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLPs (default ``[d_model]``).
    local_proj_out_dim : int, optional
        Output size of the local MLPs (default ``d_model``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary and merge MLPs (default ``[d_model]``).
    summary_out_dim : int, optional
        Output size of the summary MLPs (default ``d_model``).
    use_layernorm : bool, optional
        LayerNorms inside SummaryMixing.
    output_hidden_states : bool, optional
        Whether to also return the hidden states of every layer.
    layerdrop_prob : float, optional
        Probability to skip a layer in training.
    cgmlp_padding_mode : str, optional
        Time padding of the cgMLP convolutions: ``"reflect"`` (SpeechBrain's
        and the authors') or ``"constant"`` (zeros; the default before).

    Example
    -------
    >>> x = torch.rand(8, 60, 64)
    >>> net = SummaryMixingBranchformerEncoder(
    ...     2, 64, 1, kernel_size=7, csgu_linear_units=256
    ... )
    >>> output, _ = net(x)
    >>> output.shape
    torch.Size([8, 60, 64])
    """

    def __init__(
        self,
        num_layers,
        d_model,
        nhead,
        kernel_size=31,
        activation=nn.GELU,
        dropout=0.0,
        attention_type="SummaryMixing",
        csgu_linear_units=3072,
        gate_activation=nn.Identity,
        use_linear_after_conv=False,
        mode="SummaryMixing",
        local_proj_hid_dim: Optional[List[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[List[int]] = None,
        summary_out_dim: Optional[int] = None,
        use_layernorm=True,
        output_hidden_states=False,
        layerdrop_prob=0.0,
        cgmlp_padding_mode="reflect",
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                SummaryMixingBranchformerEncoderLayer(
                    d_model=d_model,
                    nhead=nhead,
                    kernel_size=kernel_size,
                    activation=activation,
                    dropout=dropout,
                    attention_type=attention_type,
                    csgu_linear_units=csgu_linear_units,
                    gate_activation=gate_activation,
                    use_linear_after_conv=use_linear_after_conv,
                    mode=mode,
                    local_proj_hid_dim=local_proj_hid_dim,
                    local_proj_out_dim=local_proj_out_dim,
                    summary_hid_dim=summary_hid_dim,
                    summary_out_dim=summary_out_dim,
                    use_layernorm=use_layernorm,
                    cgmlp_padding_mode=cgmlp_padding_mode,
                )
                for _ in range(num_layers)
            ]
        )
        self.norm = LayerNorm(d_model, eps=1e-6)
        self.attention_type = attention_type
        self.layerdrop_prob = layerdrop_prob
        self.output_hidden_states = output_hidden_states
