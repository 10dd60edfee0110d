"""Chunk-by-chunk front end whose frames equal the whole-utterance pass.

A streaming recogniser turns audio into frames (features, normalisation,
the convolutional subsampler) a chunk at a time. SpeechBrain's
``StreamingFeatureWrapper`` does it for its ``StreamingASR`` by padding the
stream's start with zeros and asking for zero chunks at its end: close to
the offline front end, not equal to it (its first frames are centred before
the audio starts, and the offline convolutions pad where the wrapper feeds
features of silence). `StreamingFrontEnd` uses the same description of the
front end (SpeechBrain's ``FilterProperties``: window and stride, from
``stack_filter_properties``) but recomputes each chunk on a window of audio
that starts on a stride boundary and reaches back far enough that the frames
it keeps never see the window's edge: every frame equals the one the
offline front end computes for the whole utterance (up to float rounding),
the first and last ones included, given the end of the stream
(``end_of_stream=True``). That holds for a front end that looks at no
more than its window: SpeechBrain's ``Fbank`` also clips each utterance at
80 dB below its loudest bin (``top_db``: the whole utterance, the future
included), which changes the quiet bins of most recordings (band-limited
audio, silences); the streaming YAMLs use `StreamableFbank`, the same
features without that clip.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math
from dataclasses import dataclass
from typing import Optional

import torch
from speechbrain.lobes.features import Fbank
from speechbrain.utils.filter_analysis import (
    FilterProperties,
    stack_filter_properties,
)


class StreamableFbank(Fbank):
    """SpeechBrain's ``Fbank`` without its per-utterance clip, so that each
    frame depends on its window only.

    SpeechBrain's filterbank raises every bin to at least 80 dB below the
    utterance's loudest one (``top_db``): a frame depends on the whole
    utterance, which a stream does not have yet. Without the clip, the
    log-energies still stop at ``10 * log10(amin)`` (-100 dB). Arguments
    are ``Fbank``'s.

    Example
    -------
    >>> wav = torch.cat([torch.zeros(1, 4000), 0.5 * torch.rand(1, 4000)], dim=1)
    >>> fbank = StreamableFbank(n_mels=20)
    >>> torch.allclose(fbank(wav)[:, -10:], fbank(wav[:, 4000:])[:, -10:], atol=1e-4)
    True
    >>> fbank(wav).min().item() < Fbank(n_mels=20)(wav).min().item()  # no clip
    True
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compute_fbanks.top_db = float("inf")


@dataclass
class StreamingFrontEndContext:
    """Streaming state of a `StreamingFrontEnd`: the audio kept for the next
    chunk (a bounded window) and counters."""

    audio: Optional[torch.Tensor] = None
    """``[batch, samples]``: the kept audio, from sample ``audio_start``."""

    audio_start: int = 0
    """Position in the stream of ``audio``'s first sample (a multiple of the
    front end's stride)."""

    received: int = 0
    """Samples received so far."""

    emitted: int = 0
    """Frames emitted so far."""


class StreamingFrontEnd(torch.nn.Module):
    """Runs an audio front end chunk by chunk, exactly.

    The module must be centred with "same" padding, as SpeechBrain's
    ``Fbank`` and ``ConvolutionFrontEnd`` are: frame ``k`` is centred on
    sample ``k * stride`` and needs the samples within half a window of
    it; given audio from a stride boundary, its frames are those of the
    whole stream from that point on.

    Arguments
    ---------
    module : callable
        ``module(wavs [batch, samples]) -> [batch, frames, ...]`` in eval
        mode (e.g. features, normalisation and the CNN subsampler).
    properties : FilterProperties
        The module's window and stride in samples (SpeechBrain's
        ``stack_filter_properties`` of its parts; see `front_end_properties`).

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> fbank = Fbank(n_mels=20)
    >>> front = StreamingFrontEnd(fbank, fbank.get_filter_properties())
    >>> wav = torch.rand(1, 8000)
    >>> context = front.make_streaming_context()
    >>> parts = [front(chunk, context) for chunk in wav.split(1000, dim=1)[:-1]]
    >>> parts.append(front(wav[:, 7000:], context, end_of_stream=True))
    >>> streamed = torch.cat([p for p in parts if p is not None], dim=1)
    >>> streamed.shape == fbank(wav).shape, torch.allclose(streamed, fbank(wav), atol=1e-4)
    (True, True)
    """

    def __init__(self, module, properties: FilterProperties):
        super().__init__()
        if properties.causal or properties.dilation != 1:
            raise ValueError(
                "StreamingFrontEnd needs a centred, undilated front end "
                f"(got {properties}).")
        self.module = module
        self.properties = properties
        self.stride = properties.stride
        self.half_window = properties.window_size // 2
        # frames at the start of a window that see its left edge
        self.edge_frames = math.ceil(self.half_window / self.stride)

    def make_streaming_context(self):
        """A blank `StreamingFrontEndContext`."""
        return StreamingFrontEndContext()

    def lookahead_samples(self):
        """Samples a frame needs after its centre (the front end's share of
        the latency)."""
        return self.half_window

    def complete_frames(self, samples):
        """Frames whose window lies within the first ``samples`` samples.

        Example
        -------
        >>> front = StreamingFrontEnd(None, FilterProperties(401, 160))
        >>> [front.complete_frames(n) for n in (0, 200, 201, 360, 361)]
        [0, 0, 1, 1, 2]
        """
        if samples <= self.half_window:
            return 0
        return (samples - 1 - self.half_window) // self.stride + 1

    def forward(self, chunk, context, end_of_stream=False):
        """The frames that ``chunk`` completes.

        Arguments
        ---------
        chunk : torch.Tensor
            ``[batch, samples]``, the next audio of the stream (any length,
            may be empty).
        context : StreamingFrontEndContext
            Mutable state from `make_streaming_context`.
        end_of_stream : bool
            The stream ends with this chunk: its last frames are computed
            as the offline front end computes them (its own right padding).

        Returns
        -------
        torch.Tensor or None
            ``[batch, new_frames, ...]``; None when no frame is complete yet.
        """
        if context.audio is None:
            context.audio = chunk
        elif chunk.shape[1]:
            context.audio = torch.cat((context.audio, chunk), dim=1)
        context.received += chunk.shape[1]
        if context.received == 0:
            return None
        first = context.audio_start // self.stride  # frame at the window's start
        if end_of_stream:
            frames = self.module(context.audio)
            out = frames[:, context.emitted - first:]
            context.emitted = first + frames.shape[1]
        else:
            ready = self.complete_frames(context.received)
            if ready <= context.emitted:
                return None
            frames = self.module(context.audio)
            out = frames[:, context.emitted - first: ready - first]
            context.emitted = ready
        # keep what the next frame's window needs, from a stride boundary
        start = max(0, context.emitted - self.edge_frames) * self.stride
        context.audio = context.audio[:, start - context.audio_start:]
        context.audio_start = start
        return out if out.shape[1] else None


def front_end_properties(*modules):
    """The window and stride (in samples) of modules applied one after the
    other, e.g. ``Fbank`` then the CNN subsampler; modules without
    ``get_filter_properties`` (normalisation, None) count as pointwise.

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> front_end_properties(Fbank(), None)
    FilterProperties(window_size=401, stride=160, dilation=1, causal=False)
    """
    return stack_filter_properties(
        [m for m in modules if hasattr(m, "get_filter_properties")])


def chunk_label(config, frame_seconds):
    """A name for a streaming setting: chunk length in ms and left context in
    chunks (``all``: unlimited), as the recipe's metrics and the benchmark
    name them.

    Arguments
    ---------
    config : DynChunkTrainConfig
        Chunk size in frames (after the front end) and left context.
    frame_seconds : float
        Seconds per frame (the front end's stride over the sample rate).

    Example
    -------
    >>> from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
    >>> chunk_label(DynChunkTrainConfig(16, 4), 0.04)
    'chunk640ms_left4'
    >>> chunk_label(DynChunkTrainConfig(4, None), 0.04)
    'chunk160ms_leftall'
    """
    left = "all" if config.left_context_size is None else config.left_context_size
    return f"chunk{round(config.chunk_size * frame_seconds * 1000)}ms_left{left}"
