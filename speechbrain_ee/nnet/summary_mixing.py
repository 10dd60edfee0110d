"""SummaryMixing: a linear-time replacement for multi-head self-attention.

Instead of comparing every frame with every other frame, SummaryMixing
mixes each frame with one vector that summarises the sequence: the mean,
over the frames it may see, of a per-frame MLP. The cost is O(T * D^2), like
a feed-forward block, and no T x T tensor is ever built.

Which frames a frame sees (its summary "context"):

* global (default): every real frame of the utterance;
* frame-causal (``causal=True``): frames 1..t;
* chunked (a ``DynChunkTrainConfig`` is given): every frame up to the end of
  its own chunk, optionally limited to ``left_context_size`` past chunks.

Streaming inference keeps a running sum and count of the summaries (plus a
ring buffer of per-chunk sums when the left context is limited), so its
memory does not grow with the stream and its output equals the chunk-masked
full pass.

References
----------
* Parcollet, van Dalen, Zhang, Bhattacharya, "SummaryMixing: A
  Linear-Complexity Alternative to Self-Attention for Speech Recognition and
  Understanding", Interspeech 2024 (arXiv:2307.07421).
* "Linear Time Complexity Conformers with SummaryMixing for Streaming Speech
  Recognition" (arXiv:2409.07165).

Written from the papers; no code is taken from the authors' implementation.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.nnet.normalization import LayerNorm
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

MODES = ("SummaryMixing", "SummaryMixing-lite", "SummaryMixing-fast")


@dataclass
class SummaryMixingStreamingContext:
    """Streaming state of a `SummaryMixing` layer.

    The running statistics are stored as one tensor ``[batch, S + 1]``: the
    sum of the masked summaries ``s(x_t)`` in the first ``S`` columns, the
    number of real frames in the last one.
    """

    left_context_size: Optional[int] = None
    """Number of past *chunks* each chunk sees; ``None`` for all of them."""

    sum_and_count: Optional[torch.Tensor] = None
    """Running sum and count over every frame seen so far (infinite left
    context and frame-causal modes), in `running_sum_dtype`; ``None`` before
    the first chunk."""

    past_chunks: Deque[torch.Tensor] = field(default_factory=deque)
    """Sum and count of each of the last ``left_context_size`` chunks, oldest
    first (limited left context only): a ring buffer of fixed length."""


class GroupedLinear(nn.Module):
    """Block-diagonal linear layer: ``groups`` independent linear maps.

    The input features are split into ``groups`` equal slices; slice ``g``
    is mapped by its own weight to slice ``g`` of the output. With
    ``groups=1`` this is a plain linear layer (same weight shape as
    ``torch.nn.Linear``). Biases start at zero.

    Arguments
    ---------
    input_size : int
        Number of input features, divisible by ``groups``.
    n_neurons : int
        Number of output features, divisible by ``groups``.
    groups : int
        Number of independent groups (heads).
    bias : bool
        Whether to add a bias.

    Example
    -------
    >>> layer = GroupedLinear(64, 32, groups=4)
    >>> layer(torch.rand(8, 10, 64)).shape
    torch.Size([8, 10, 32])
    """

    def __init__(self, input_size, n_neurons, groups=1, bias=True):
        super().__init__()
        sizes = {"input_size": input_size, "n_neurons": n_neurons}
        for name, size in sizes.items():
            if size % groups != 0:
                raise ValueError(
                    f"{name}={size} is not divisible by groups={groups}."
                )
        self.groups = groups
        # Row block g (n_neurons // groups rows) is group g's weight.
        self.weight = nn.Parameter(
            torch.empty(n_neurons, input_size // groups)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(n_neurons))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Uniform weights as ``torch.nn.Linear`` per group; zero biases."""
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x):
        """Maps ``x [..., input_size]`` to ``[..., n_neurons]``."""
        if self.groups == 1:
            return F.linear(x, self.weight, self.bias)
        lead = x.shape[:-1]
        out = self.forward_group_major(to_group_major(x, self.groups))
        return from_group_major(out, lead)

    def forward_group_major(self, x):
        """Maps ``x [groups, frames, input_size // groups]`` to ``[groups,
        frames, n_neurons // groups]``: every group in one batched matmul."""
        weight = self.weight.unflatten(0, (self.groups, -1)).transpose(1, 2)
        if self.bias is None:
            return torch.bmm(x, weight)
        bias = self.bias.unflatten(0, (self.groups, 1, -1))
        return torch.baddbmm(bias, x, weight)


def to_group_major(x, groups):
    """``[..., F]`` to the view ``[groups, frames, F // groups]`` (no copy
    for a contiguous ``x``); ``frames`` is the product of the leading sizes.
    """
    return x.reshape(-1, groups, x.shape[-1] // groups).transpose(0, 1)


def from_group_major(x, lead):
    """``[groups, frames, F]`` back to ``[*lead, groups * F]`` (one copy)."""
    return x.transpose(0, 1).reshape(*lead, -1)


class GroupedMLP(nn.Sequential):
    """An MLP of `GroupedLinear` layers, each followed by an activation.

    The children alternate ``GroupedLinear`` and activation (the state dict
    of an ``nn.Sequential``). All layers share the same ``groups``; between
    layers the features stay in the group-major layout of one batched
    matmul, so the input and output are reordered once per MLP, not once
    per layer.

    Arguments
    ---------
    input_size : int
        Number of input features.
    layer_sizes : Sequence[int]
        Output size of each layer, the last one included.
    groups : int
        Number of independent groups in every layer.
    activation : type
        Activation class, instantiated after every layer.

    Example
    -------
    >>> mlp = GroupedMLP(16, [32, 8], groups=2, activation=nn.GELU)
    >>> mlp(torch.rand(3, 5, 16)).shape
    torch.Size([3, 5, 8])
    """

    def __init__(self, input_size, layer_sizes, groups, activation):
        layers = []
        for size in layer_sizes:
            layers += [GroupedLinear(input_size, size, groups), activation()]
            input_size = size
        super().__init__(*layers)
        self.groups = groups

    def __getitem__(self, idx):
        """A layer, or a plain ``nn.Sequential`` of a slice of layers."""
        if isinstance(idx, slice):
            return nn.Sequential(*list(self._modules.values())[idx])
        return super().__getitem__(idx)

    def forward(self, x):
        """Maps ``x [..., input_size]`` to ``[..., layer_sizes[-1]]``."""
        if self.groups == 1:
            return super().forward(x)
        out = self.forward_group_major(to_group_major(x, self.groups))
        return from_group_major(out, x.shape[:-1])

    def forward_group_major(self, x):
        """Maps ``[groups, frames, in // groups]`` (see `to_group_major`) to
        ``[groups, frames, out // groups]``."""
        for layer in self:
            if isinstance(layer, GroupedLinear):
                x = layer.forward_group_major(x)
            else:
                x = layer(x)
        return x


def _sizes_or(sizes, default):
    """``sizes`` (a list copied, or an int), or ``default`` when None."""
    if sizes is None:
        return default
    return list(sizes) if isinstance(sizes, (list, tuple)) else sizes


def real_frame_mask(x, src_key_padding_mask=None):
    """``[batch, time, 1]`` float mask: 1 for real frames, 0 for padding.

    Arguments
    ---------
    x : torch.Tensor
        Input ``[batch, time, features]``.
    src_key_padding_mask : torch.Tensor, optional
        ``[batch, time]``, True where padded.

    Returns
    -------
    torch.Tensor
    """
    if src_key_padding_mask is None:
        return x.new_ones(x.shape[0], x.shape[1], 1)
    return (~src_key_padding_mask).unsqueeze(-1).to(x.dtype)


def sum_and_count(summary, frame_mask):
    """Appends the frame mask to the masked summaries as a count column.

    Summing the result over frames gives the sum of ``s(x_t)`` over real
    frames and their number in one tensor ``[..., S + 1]``.

    Arguments
    ---------
    summary : torch.Tensor
        Per-frame summaries ``[batch, time, S]``.
    frame_mask : torch.Tensor
        ``[batch, time, 1]``, 1 for real frames.

    Returns
    -------
    torch.Tensor
        ``[batch, time, S + 1]``, at least float32 (sums over long inputs
        stay accurate under mixed precision).
    """
    dtype = torch.promote_types(summary.dtype, torch.float32)
    frame_mask = frame_mask.to(dtype)
    return torch.cat([summary.to(dtype) * frame_mask, frame_mask], dim=-1)


def mean_from_sum_and_count(stats):
    """Divides the sums of `sum_and_count` by their counts (at least 1)."""
    return stats[..., :-1] / stats[..., -1:].clamp(min=1.0)


def running_sum_dtype(device):
    """Dtype of sums that run over a whole sequence or stream.

    float64 (float32 on MPS, which lacks float64): long streams keep their
    precision, and a stream fed chunk by chunk continues exactly the sums of
    the full pass (CPU cumulative sums of float32 accumulate in float64).
    """
    return torch.float32 if device.type == "mps" else torch.float64


def cumulative_sum(stats, initial=None):
    """Running sums of ``stats [batch, time, F]`` over time, in
    `running_sum_dtype`, optionally continuing from ``initial [batch, F]``.

    Arguments
    ---------
    stats : torch.Tensor
        ``[batch, time, F]``.
    initial : torch.Tensor, optional
        Sum of everything before ``stats``.

    Returns
    -------
    torch.Tensor
        ``[batch, time, F]``.
    """
    stats = stats.to(running_sum_dtype(stats.device))
    if initial is None:
        return stats.cumsum(dim=1)
    # Adding `initial` first keeps the order of the additions of a full pass.
    return torch.cat([initial.unsqueeze(1), stats], dim=1).cumsum(dim=1)[:, 1:]


def chunk_sums(stats, chunk_size):
    """Sums ``[batch, time, F]`` over consecutive chunks of ``chunk_size``.

    Arguments
    ---------
    stats : torch.Tensor
        ``[batch, time, F]``.
    chunk_size : int
        Frames per chunk; the last chunk may be shorter.

    Returns
    -------
    torch.Tensor
        ``[batch, ceil(time / chunk_size), F]``.
    """
    right_padding = -stats.shape[1] % chunk_size
    stats = F.pad(stats, (0, 0, 0, right_padding))
    return stats.unflatten(1, (-1, chunk_size)).sum(dim=2)


def visible_chunk_sums(sums, left_context_size=None):
    """For each chunk, the sum over itself and the chunks it may see.

    Arguments
    ---------
    sums : torch.Tensor
        Per-chunk sums ``[batch, chunks, F]``.
    left_context_size : int, optional
        Number of past chunks visible; ``None`` for all (a `cumulative_sum`).

    Returns
    -------
    torch.Tensor
        ``[batch, chunks, F]``.
    """
    if left_context_size is None:
        return cumulative_sum(sums)
    sums = F.pad(sums, (0, 0, left_context_size, 0))
    return sums.unfold(1, left_context_size + 1, 1).sum(dim=-1)


class SummaryMixing(nn.Module):
    """SummaryMixing token mixer (linear-time alternative to self-attention).

    For every frame, ``out_t = c([f(x_t); s_bar_t])`` where ``f`` is the local
    MLP, ``s_bar_t`` the mean of the summary MLP ``s`` over the real frames
    that frame ``t`` may see, and ``c`` the combiner (one linear). Every
    linear, the last of each MLP included, is followed by ``activation``.
    ``nhead`` splits the local and summary MLPs into independent groups
    (block-diagonal weights, one batched matmul); the combiner is not split.
    All biases start at zero.

    The three modes are those of the authors' code (Parcollet et al.):

    * ``"SummaryMixing"``: the full layer, LayerNorms on the local output
      and on the summary mean when ``use_layernorm`` (the code behind the
      paper's numbers has them);
    * ``"SummaryMixing-lite"``: no local branch, no combiner, no LayerNorm:
      the output is the summary mean (size ``summary_out_dim``) broadcast to
      every frame;
    * ``"SummaryMixing-fast"``: one dense ``Linear(enc_dim, 2 *
      local_proj_out_dim)`` + activation, whose first half is the local
      branch and second half the summary; no LayerNorm; ``nhead``, the hidden
      sizes and ``summary_*`` sizes are unused (as in the authors' code).

    One deliberate difference: with chunked summaries (a
    ``DynChunkTrainConfig``) and padding, the mean divides by the number of
    *real* frames a frame sees; the authors' chunked code divides by the
    visible frames including padding, which shrinks the mean of the last
    chunks of a padded utterance. Padded frames' outputs are arbitrary (as
    in SpeechBrain's attention layers); real frames never see padding.

    Arguments
    ---------
    enc_dim : int
        Input feature size.
    nhead : int
        Number of independent groups in the local and summary MLPs.
    local_proj_hid_dim : list of int, optional
        Hidden sizes of the local MLP ``f`` (default ``[enc_dim]``).
    local_proj_out_dim : int, optional
        Output size of ``f`` (default ``enc_dim``).
    summary_hid_dim : list of int, optional
        Hidden sizes of the summary MLP ``s`` (default ``[enc_dim]``).
    summary_out_dim : int, optional
        Output size of ``s`` (default ``enc_dim``).
    activation : type
        Activation class, e.g. ``torch.nn.GELU``.
    mode : str
        ``"SummaryMixing"``, ``"SummaryMixing-lite"`` or
        ``"SummaryMixing-fast"`` (see above).
    use_layernorm : bool
        LayerNorm on the local output and on the summary mean of the full
        mode (the lite and fast modes have none).
    dropout : float
        Dropout on the concatenation fed to the combiner.
    causal : bool
        Frame-causal summary: frame ``t`` sees frames ``1..t``.
    output_dim : int, optional
        Output size of the combiner (default ``enc_dim``).

    Example
    -------
    >>> x = torch.rand(4, 30, 64)
    >>> lengths = torch.tensor([30, 25, 20, 9])
    >>> mask = torch.arange(30)[None, :] >= lengths[:, None]
    >>> mixer = SummaryMixing(64, nhead=4, local_proj_hid_dim=[64],
    ...                       local_proj_out_dim=64, summary_hid_dim=[64],
    ...                       summary_out_dim=64)
    >>> mixer(x, src_key_padding_mask=mask).shape
    torch.Size([4, 30, 64])
    >>> fast = SummaryMixing(64, nhead=4, mode="SummaryMixing-fast")
    >>> fast.fused_proj[0].weight.shape  # one dense Linear(64 -> 2 * 64)
    torch.Size([128, 64])
    """

    def __init__(
        self,
        enc_dim,
        nhead=1,
        local_proj_hid_dim: Optional[Sequence[int]] = None,
        local_proj_out_dim: Optional[int] = None,
        summary_hid_dim: Optional[Sequence[int]] = None,
        summary_out_dim: Optional[int] = None,
        activation=nn.GELU,
        mode="SummaryMixing",
        use_layernorm=True,
        dropout=0.1,
        causal=False,
        output_dim: Optional[int] = None,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected one of {MODES}.")
        local_hid = _sizes_or(local_proj_hid_dim, [enc_dim])
        local_out = _sizes_or(local_proj_out_dim, enc_dim)
        summary_hid = _sizes_or(summary_hid_dim, [enc_dim])
        summary_out = _sizes_or(summary_out_dim, enc_dim)
        output_dim = _sizes_or(output_dim, enc_dim)
        self.mode = mode
        self.causal = causal
        self.nhead = nhead

        if mode == "SummaryMixing-fast":
            fused = nn.Linear(enc_dim, 2 * local_out)
            nn.init.zeros_(fused.bias)
            self.fused_proj = nn.Sequential(fused, activation())
            summary_out = local_out
        else:
            self.summary_proj = GroupedMLP(
                enc_dim, summary_hid + [summary_out], nhead, activation
            )
        if mode == "SummaryMixing":
            self.local_proj = GroupedMLP(
                enc_dim, local_hid + [local_out], nhead, activation
            )
        self.local_size, self.summary_size = local_out, summary_out

        norms = use_layernorm and mode == "SummaryMixing"
        self.summary_norm = LayerNorm(summary_out) if norms else nn.Identity()
        if mode == "SummaryMixing-lite":
            self.output_size = summary_out
            return
        self.local_norm = LayerNorm(local_out) if norms else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        combiner = nn.Linear(local_out + summary_out, output_dim)
        nn.init.zeros_(combiner.bias)
        self.combiner = nn.Sequential(combiner, activation())
        self.output_size = output_dim

    def forward(
        self,
        x,
        src_mask: Optional[torch.Tensor] = None,
        src_key_padding_mask: Optional[torch.Tensor] = None,
        dynchunktrain_config: Optional[DynChunkTrainConfig] = None,
    ):
        """Mixes a whole (padded) batch.

        Arguments
        ---------
        x : torch.Tensor
            Input ``[batch, time, enc_dim]``.
        src_mask : torch.Tensor, optional
            Ignored: the frames a frame sees are set by ``causal`` and
            ``dynchunktrain_config`` (a T x T mask would make the layer
            quadratic). Accepted so that the layer fits SpeechBrain's
            encoder calls; a warning is raised when it is given while the
            layer is neither causal nor chunked.
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, time]``, True where padded.
        dynchunktrain_config : DynChunkTrainConfig, optional
            Chunked summary: a frame sees every frame up to the end of its
            chunk, and ``left_context_size`` past chunks (all if ``None``).

        Returns
        -------
        torch.Tensor
            ``[batch, time, output_size]``.
        """
        self._check_context(src_mask, dynchunktrain_config)
        if dynchunktrain_config is None and not self.causal:
            local, mean = self._global_summary(x, src_key_padding_mask)
            return self._combine(local, mean, x.shape[1])
        frame_mask = real_frame_mask(x, src_key_padding_mask)
        local, summary = self._project(x)
        stats = sum_and_count(summary, frame_mask)
        if dynchunktrain_config is not None:
            mean = self._chunked_mean(
                stats, dynchunktrain_config, summary.dtype
            )
        else:
            mean = self._norm_summary(cumulative_sum(stats), summary.dtype)
        return self._combine(local, mean, x.shape[1])

    def forward_streaming(
        self,
        x,
        context: SummaryMixingStreamingContext,
        src_key_padding_mask: Optional[torch.Tensor] = None,
    ):
        """Mixes one chunk of a stream and updates ``context``.

        Feeding a sequence chunk by chunk (chunks of ``chunk_size`` frames,
        the last one possibly shorter) gives the output of `forward` with the
        same ``DynChunkTrainConfig``; for a causal layer chunks may have any
        length and the output is that of the causal `forward`.

        Arguments
        ---------
        x : torch.Tensor
            One chunk ``[batch, chunk_time, enc_dim]``.
        context : SummaryMixingStreamingContext
            Mutable state from `make_streaming_context`, passed to every
            call of the same stream.
        src_key_padding_mask : torch.Tensor, optional
            ``[batch, chunk_time]``, True where padded.

        Returns
        -------
        torch.Tensor
            ``[batch, chunk_time, output_size]``.
        """
        frame_mask = real_frame_mask(x, src_key_padding_mask)
        local, summary = self._project(x)
        stats = sum_and_count(summary, frame_mask)
        if self.causal:
            stats = self._causal_stream_sums(stats, context)
        elif context.left_context_size is None:
            stats = self._running_stream_sum(stats, context)
        else:
            stats = self._windowed_stream_sum(stats, context)
        mean = self._norm_summary(stats, summary.dtype)
        return self._combine(local, mean, x.shape[1])

    def make_streaming_context(self, left_context_size: Optional[int] = None):
        """Creates the blank streaming state of one stream (batch).

        Arguments
        ---------
        left_context_size : int, optional
            Number of past chunks each chunk sees (``None``: all), as
            ``DynChunkTrainConfig.left_context_size``. Must be ``None`` for a
            causal layer.

        Returns
        -------
        SummaryMixingStreamingContext
        """
        if self.causal and left_context_size is not None:
            raise ValueError("A causal SummaryMixing sees all past frames.")
        past_chunks = deque(maxlen=left_context_size or 0)
        return SummaryMixingStreamingContext(
            left_context_size=left_context_size, past_chunks=past_chunks
        )

    def _check_context(self, src_mask, dynchunktrain_config):
        """Rejects causal + chunked; warns when a src_mask would be lost."""
        if self.causal and dynchunktrain_config is not None:
            raise ValueError(
                "causal=True and a dynchunktrain_config are exclusive."
            )
        chunked = dynchunktrain_config is not None
        if src_mask is not None and not self.causal and not chunked:
            warnings.warn(
                "SummaryMixing ignores src_mask; set causal=True or pass a "
                "dynchunktrain_config to restrict the summary."
            )

    def _project(self, x):
        """Local (``None`` in the lite mode) and summary MLP outputs, both
        ``[batch, time, features]``."""
        if self.mode == "SummaryMixing-fast":
            return self.fused_proj(x).split(self.local_size, dim=-1)
        if self.mode == "SummaryMixing-lite":
            return None, self.summary_proj(x)
        return self.local_proj(x), self.summary_proj(x)

    def _global_summary(self, x, src_key_padding_mask):
        """Local output and the summary mean over all real frames
        ``[batch, 1, S]`` (normalised), without a masked copy of the
        summaries: the masked sum is one batched matmul."""
        batch, time = x.shape[:2]
        if self.mode == "SummaryMixing-fast":
            local, summary = self.fused_proj(x).split(self.local_size, -1)
            summary = summary.unsqueeze(0)  # one group, frames per utterance
            groups = 1
        else:
            groups = self.nhead
            summary = self.summary_proj.forward_group_major(
                to_group_major(x, groups)
            ).unflatten(1, (batch, time))  # [groups, batch, time, S / groups]
            local = None
            if self.mode == "SummaryMixing":
                local = self.local_proj(x)
        dtype = summary.dtype
        summary = summary.to(torch.promote_types(dtype, torch.float32))
        if src_key_padding_mask is None:
            total = summary.sum(dim=2, keepdim=True)
            count = summary.new_full((batch, 1, 1), float(time))
        else:
            keep = (~src_key_padding_mask).to(summary.dtype)
            # [1, batch, 1, time] @ [groups, batch, time, S / groups]
            total = torch.matmul(keep[None, :, None, :], summary)
            count = keep.sum(dim=1).clamp(min=1.0)[:, None, None]
        # [groups, batch, 1, S / groups] -> [batch, 1, S]
        total = total.permute(1, 2, 0, 3).flatten(2)
        mean = (total / count).to(dtype)
        return local, self.summary_norm(mean)

    def _norm_summary(self, stats, dtype):
        """Summary mean from sums and counts, back in ``dtype``, normalised."""
        return self.summary_norm(mean_from_sum_and_count(stats).to(dtype))

    def _chunked_mean(self, stats, config, dtype):
        """Per-frame summary mean under a chunk mask, via per-chunk sums."""
        sums = chunk_sums(stats, config.chunk_size)
        sums = visible_chunk_sums(sums, config.left_context_size)
        mean = self._norm_summary(sums, dtype)
        mean = mean.repeat_interleave(config.chunk_size, dim=1)
        return mean[:, : stats.shape[1]]

    def _combine(self, local, mean, time):
        """Combiner over ``[local; mean]`` (``mean``: ``[batch, 1, S]`` or
        ``[batch, time, S]``); the lite mode returns the mean per frame.

        Without dropout the combiner is split in two: its summary half runs
        once per utterance (not per frame) when the mean is global, and no
        concatenation is built. With dropout (training) the concatenation is
        dropped out frame by frame, as in the authors' layer.
        """
        if local is None:
            return mean.expand(-1, time, -1)
        local = self.local_norm(local)
        linear, activation = self.combiner
        if self.training and self.dropout.p > 0:
            both = torch.cat([local, mean.expand(-1, time, -1)], dim=-1)
            return activation(linear(self.dropout(both)))
        w_local, w_summary = linear.weight.split(
            [self.local_size, self.summary_size], dim=1
        )
        summary_term = F.linear(mean, w_summary, linear.bias)
        w_local = w_local.T.expand(local.shape[0], -1, -1)
        return activation(torch.baddbmm(summary_term, local, w_local))

    @staticmethod
    def _causal_stream_sums(stats, context):
        """Per-frame cumulative sums continuing the stream's running sum."""
        sums = cumulative_sum(stats, context.sum_and_count)
        context.sum_and_count = sums[:, -1]
        return sums

    @staticmethod
    def _running_stream_sum(stats, context):
        """Sum over the whole stream so far, this chunk included."""
        total = stats.sum(dim=1).to(running_sum_dtype(stats.device))
        if context.sum_and_count is not None:
            total = context.sum_and_count + total
        context.sum_and_count = total
        return total.unsqueeze(1)

    @staticmethod
    def _windowed_stream_sum(stats, context):
        """Sum over this chunk and the buffered past chunks."""
        current = stats.sum(dim=1)
        past = context.past_chunks
        while len(past) < past.maxlen:  # first chunk: as the zero padding
            past.append(torch.zeros_like(current))
        total = torch.stack([*past, current], dim=-1).sum(dim=-1)
        past.append(current)
        return total.unsqueeze(1)

