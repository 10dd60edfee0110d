"""Streaming transcription: audio in chunks, text as it comes.

`StreamingTranscriber` runs a CTC model of the toolkit on a live stream, a
chunk at a time: the front end (features, normalisation and the CNN
subsampler) through `speechbrain_ee.lobes.streaming.StreamingFrontEnd`,
the encoder through its streaming state (the SummaryMixing Conformer's
running summaries, SpeechBrain's Conformer's cache of past frames) and
greedy CTC across chunk boundaries. Chunk by chunk, its log-probabilities
are those of the model's chunk-masked pass over the whole stream (what the
recipe scores as ``WER_chunk<ms>ms_left<chunks>``). Its interface is
SpeechBrain's ``StreamingASR``: ``make_streaming_context(config)``,
``transcribe_chunk(context, chunk)``, ``transcribe_file_streaming(path,
config)``; `StreamingEncoderASR` loads it from an exported folder with
``from_hparams``. ``speechbrain-ee transcribe --stream`` is its command line.

The chunk size is in frames after the front end (``DynChunkTrainConfig``,
40 ms each for the recipe's CNN); `StreamingTranscriber.config` makes one
from milliseconds. A chunk's text comes out once the chunk's last frame is
complete: the chunk's length plus the front end's look-ahead (half its
window, 42.5 ms for the recipe's) after its first sample.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass, field
from typing import List, Optional

import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig

from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.decoding.ctc import greedy_ctc_step, pieces_text
from speechbrain_ee.errors import UsageError
from speechbrain_ee.inference.asr import EfficientEncoderASR
from speechbrain_ee.lobes.streaming import (
    StreamingFrontEnd,
    StreamingFrontEndContext,
    front_end_properties,
)


@dataclass
class StreamingTranscriptionContext:
    """Everything one stream (a batch of streams) carries between chunks."""

    config: DynChunkTrainConfig
    """Chunk size (frames after the front end) and left context (chunks)."""

    front_end: StreamingFrontEndContext
    """The front end's kept audio."""

    encoder: object
    """The model's streaming state (``make_streaming_context``)."""

    pending: Optional[torch.Tensor] = None
    """Front-end frames waiting for a whole chunk."""

    previous: Optional[List[int]] = None
    """Each row's best token on the last frame decoded (greedy CTC)."""

    started: List[bool] = field(default_factory=list)
    """Whether each row has emitted text yet."""

    samples: int = 0
    """Audio samples received."""

    batch: int = 1
    """Streams in step (rows of each chunk)."""

    frames: int = 0
    """Frames encoded."""


class _Features(torch.nn.Module):
    """Waveforms -> features, normalisation, the encoder's front end."""

    def __init__(self, compute_features, normalize, front_end=None):
        super().__init__()
        self.compute_features = compute_features
        self.normalize = normalize
        self.front_end = front_end

    def forward(self, wavs):
        """``[batch, samples]`` -> the encoder front end's output."""
        feats = self.compute_features(wavs)
        feats = self.normalize(feats, torch.ones(wavs.shape[0], device=wavs.device))
        return feats if self.front_end is None else self.front_end(feats)


class StreamingTranscriber:
    """Streams audio through a CTC model of the toolkit, emitting text.

    Arguments
    ---------
    model : torch.nn.Module
        A streaming model of `speechbrain_ee.lobes.contract` (`CTCModel` on
        an ``ASREncoder`` whose stack has ``forward_streaming``).
    compute_features : callable
        Waveforms -> features (the run's ``Fbank``).
    normalize : torch.nn.Module
        The run's feature normalisation (global statistics).
    tokenizer : sentencepiece.SentencePieceProcessor
        The run's tokens.
    blank_index : int
        The CTC blank.
    sample_rate : int
        The model's rate.

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain.nnet.linear import Linear
    >>> from speechbrain.processing.features import InputNormalization
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> from speechbrain_ee.lobes.contract import CTCModel
    >>> from speechbrain_ee.lobes.summary_mixing_encoders import (
    ...     SummaryMixingConformerEncoder)
    >>> class Chars:
    ...     def id_to_piece(self, i): return "_▁AB"[i]
    ...     def is_unknown(self, i): return i == 0
    >>> encoder = ASREncoder(SummaryMixingConformerEncoder(1, 16, 32, 2, kernel_size=3),
    ...                      input_size=20, d_model=16, positional_encoding="none")
    >>> norm = InputNormalization()
    >>> _ = norm(torch.rand(1, 10, 20), torch.ones(1))  # global statistics
    >>> asr = StreamingTranscriber(CTCModel(encoder, Linear(input_size=16, n_neurons=4)),
    ...                            Fbank(n_mels=20), norm, Chars())
    >>> config = asr.config(chunk_ms=40)
    >>> context = asr.make_streaming_context(config)
    >>> asr.get_chunk_size_frames(config)
    640
    >>> texts = [asr.transcribe_chunk(context, torch.rand(1, 640))[0] for _ in range(3)]
    >>> final = asr.transcribe_chunk(context, torch.rand(1, 100), end_of_stream=True)
    >>> context.frames, isinstance(final[0], str)  # 2020 samples: 13 Fbank frames
    (13, True)
    """

    def __init__(self, model, compute_features, normalize, tokenizer, blank_index=0,
                 sample_rate=16000):
        if not hasattr(model, "forward_streaming"):
            raise UsageError(
                f"{type(model).__name__} cannot stream (early exits and blank skip "
                "decide per utterance); use a model trained with dynamic chunks "
                "(hparams/conformer_summarymixing_streaming_ctc.yaml or "
                "conformer_streaming_ctc.yaml).")
        try:  # refuses an encoder that cannot stream, before any audio
            model.make_streaming_context(DynChunkTrainConfig(1, None))
        except ValueError as err:
            raise UsageError(str(err)) from err
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.blank_index = blank_index
        self.sample_rate = sample_rate
        cnn = getattr(getattr(model, "encoder", None), "front_end", None)
        self.front_end = StreamingFrontEnd(
            _Features(compute_features, normalize.eval(), cnn).eval(),
            front_end_properties(compute_features, cnn))

    @classmethod
    def from_asr(cls, asr):
        """The transcriber of a loaded `EfficientEncoderASR` (an export)."""
        model = asr.model if hasattr(asr, "model") else asr.mods.encoder
        return cls(model, asr.hparams.compute_features, asr.mods.normalize,
                   asr.tokenizer, getattr(asr.hparams, "blank_index", 0),
                   getattr(asr, "sample_rate", 16000))

    @property
    def device(self):
        """Where the model is."""
        return next(self.model.parameters()).device

    @property
    def frame_seconds(self):
        """Seconds per frame after the front end (its stride)."""
        return self.front_end.stride / self.sample_rate

    def config(self, chunk_ms=640, left_context_chunks=None):
        """The streaming setting of a chunk length in milliseconds.

        Arguments
        ---------
        chunk_ms : float
            A multiple of the frame length (`frame_seconds`).
        left_context_chunks : int, optional
            Past chunks each chunk sees (None: all).

        Returns
        -------
        DynChunkTrainConfig
        """
        frame_ms = self.frame_seconds * 1000
        frames = round(chunk_ms / frame_ms)
        if frames < 1 or abs(frames * frame_ms - chunk_ms) > 1e-6:
            raise UsageError(f"--chunk-ms {chunk_ms:g}: give a multiple of this model's "
                             f"{frame_ms:g} ms frames.")
        if left_context_chunks is not None and left_context_chunks < 0:
            raise UsageError(f"--left-context-chunks {left_context_chunks}: give 0 or "
                             "more chunks (or leave it out: all the past).")
        return DynChunkTrainConfig(frames, left_context_chunks)

    def get_chunk_size_frames(self, config):
        """Audio samples per chunk (SpeechBrain's name: the length of the
        waveform to pass to `transcribe_chunk`)."""
        return config.chunk_size * self.front_end.stride

    def make_streaming_context(self, config):
        """A blank state for one stream (or a batch of streams in step).

        Arguments
        ---------
        config : DynChunkTrainConfig
            Chunk size (frames) and left context (chunks).

        Returns
        -------
        StreamingTranscriptionContext
        """
        return StreamingTranscriptionContext(
            config=config, front_end=self.front_end.make_streaming_context(),
            encoder=self.model.make_streaming_context(config))

    @torch.no_grad()
    def encode_chunk(self, context, chunk, end_of_stream=False):
        """CTC log-probabilities of the frames a chunk of audio completes.

        Arguments
        ---------
        context : StreamingTranscriptionContext
            Mutable state from `make_streaming_context`.
        chunk : torch.Tensor
            ``[batch, samples]`` at the model's rate; any length (text comes
            per whole chunk of frames).
        end_of_stream : bool
            The stream ends here: its last frames and last partial chunk
            are encoded.

        Returns
        -------
        torch.Tensor or None
            ``[batch, frames, vocab]``; None when no chunk was complete.
        """
        chunk = chunk.float().to(self.device)
        context.samples += chunk.shape[1]
        context.batch = chunk.shape[0]
        frames = self.front_end(chunk, context.front_end, end_of_stream=end_of_stream)
        if frames is not None:
            context.pending = frames if context.pending is None else torch.cat(
                (context.pending, frames), dim=1)
        size, outputs = context.config.chunk_size, []
        while context.pending is not None and (
                context.pending.shape[1] >= size or end_of_stream):
            part, rest = context.pending[:, :size], context.pending[:, size:]
            context.pending = rest if rest.shape[1] else None
            outputs.append(self.model.forward_streaming(part, context.encoder))
            context.frames += part.shape[1]
        return torch.cat(outputs, dim=1) if outputs else None

    def decode_chunk(self, context, log_probs):
        """The new text of each stream (greedy CTC across chunks).

        Arguments
        ---------
        context : StreamingTranscriptionContext
            The stream's state.
        log_probs : torch.Tensor or None
            From `encode_chunk`.

        Returns
        -------
        list of str
            Text to append to each stream's transcript (often empty).
        """
        if log_probs is None:
            return [""] * context.batch
        tokens, context.previous = greedy_ctc_step(log_probs, context.previous,
                                                   self.blank_index)
        if not context.started:
            context.started = [False] * len(tokens)
        texts = []
        for row, new in enumerate(tokens):
            text = pieces_text(self.tokenizer, new, context.started[row])
            context.started[row] = context.started[row] or bool(text)
            texts.append(text)
        return texts

    def transcribe_chunk(self, context, chunk, chunk_len=None, end_of_stream=False):
        """Text of the next chunk of audio.

        Arguments
        ---------
        context : StreamingTranscriptionContext
            Mutable state from `make_streaming_context`.
        chunk : torch.Tensor
            ``[batch, samples]`` (see `encode_chunk`).
        chunk_len : torch.Tensor, optional
            Accepted for SpeechBrain's signature; streams of a batch move in
            step (the same length).
        end_of_stream : bool
            The last chunk: flushes the front end and the last frames.

        Returns
        -------
        list of str
            Each stream's new text (append it to what came before).
        """
        return self.decode_chunk(context, self.encode_chunk(context, chunk, end_of_stream))

    def transcribe_stream(self, chunks, config):
        """Transcribes an iterable of audio chunks, text as it comes.

        Arguments
        ---------
        chunks : iterable of torch.Tensor
            ``[samples]`` or ``[1, samples]`` pieces of one stream, in order.
        config : DynChunkTrainConfig
            Chunk size and left context.

        Yields
        ------
        str
            The new text of each piece (possibly empty), and of the end.
        """
        context = self.make_streaming_context(config)
        for chunk in chunks:
            chunk = chunk if chunk.dim() == 2 else chunk.unsqueeze(0)
            yield self.transcribe_chunk(context, chunk)[0]
        yield self.transcribe_chunk(context, torch.zeros(1, 0), end_of_stream=True)[0]

    def transcribe_file_streaming(self, path, dynchunktrain_config, **kwargs):
        """Transcribes an audio file chunk by chunk (SpeechBrain's
        ``StreamingASR.transcribe_file_streaming``).

        Arguments
        ---------
        path : str
            Any audio file soundfile reads (resampled, mixed to mono).
        dynchunktrain_config : DynChunkTrainConfig
            Chunk size and left context.
        **kwargs : dict
            Ignored (SpeechBrain's ``use_torchaudio_streaming``).

        Yields
        ------
        str
            Text to concatenate, one piece per chunk (often empty).
        """
        wav = load_audio(str(path), self.sample_rate)
        size = self.get_chunk_size_frames(dynchunktrain_config)
        yield from self.transcribe_stream(wav.split(size), dynchunktrain_config)

    def transcribe_file(self, path, dynchunktrain_config):
        """The whole transcript of a file, streamed.

        Returns
        -------
        str
        """
        return "".join(self.transcribe_file_streaming(path, dynchunktrain_config)).strip()


class StreamingEncoderASR(EfficientEncoderASR):
    """An exported model of the toolkit as SpeechBrain's ``StreamingASR``.

    Loads like `EfficientEncoderASR` (``from_hparams`` on an exported
    folder or a hub id) and streams through a `StreamingTranscriber`.

    Arguments
    ---------
    *args : tuple
    **kwargs : dict
        Forwarded to SpeechBrain's ``Pretrained``.

    Example
    -------
    >>> asr = StreamingEncoderASR.from_hparams(
    ...     source="exported/conformer_summarymixing_streaming_ctc",
    ...     savedir="/tmp/m")  # doctest: +SKIP
    >>> config = asr.config(chunk_ms=640)  # doctest: +SKIP
    >>> for text in asr.transcribe_file_streaming("a.flac", config):  # doctest: +SKIP
    ...     print(text, end="", flush=True)
    """

    @property
    def streaming(self):
        """The `StreamingTranscriber` of this model (built on first use;
        a model that cannot stream is refused then)."""
        if getattr(self, "_streaming", None) is None:
            self._streaming = StreamingTranscriber.from_asr(self)
        return self._streaming

    def config(self, chunk_ms=640, left_context_chunks=None):
        """See `StreamingTranscriber.config`."""
        return self.streaming.config(chunk_ms, left_context_chunks)

    def get_chunk_size_frames(self, dynchunktrain_config):
        """See `StreamingTranscriber.get_chunk_size_frames`."""
        return self.streaming.get_chunk_size_frames(dynchunktrain_config)

    def make_streaming_context(self, dynchunktrain_config):
        """See `StreamingTranscriber.make_streaming_context`."""
        return self.streaming.make_streaming_context(dynchunktrain_config)

    def encode_chunk(self, context, chunk, chunk_len=None, end_of_stream=False):
        """See `StreamingTranscriber.encode_chunk`."""
        return self.streaming.encode_chunk(context, chunk, end_of_stream)

    def transcribe_chunk(self, context, chunk, chunk_len=None, end_of_stream=False):
        """See `StreamingTranscriber.transcribe_chunk`."""
        return self.streaming.transcribe_chunk(context, chunk, chunk_len, end_of_stream)

    def transcribe_file_streaming(self, path, dynchunktrain_config, **kwargs):
        """See `StreamingTranscriber.transcribe_file_streaming`."""
        return self.streaming.transcribe_file_streaming(path, dynchunktrain_config)


def pcm_chunks(binary, samples):
    """Chunks of raw 16-bit little-endian mono PCM from a binary stream
    (standard input: ``arecord -f S16_LE -r 16000 -c 1 -t raw``).

    Arguments
    ---------
    binary : file object
        Read with ``read``; blocks until each chunk is complete (a pipe
        delivers as the source records).
    samples : int
        Samples per chunk; the last chunk may be shorter.

    Yields
    ------
    torch.Tensor
        ``[samples]`` floats in ``[-1, 1)``.

    Example
    -------
    >>> import io, numpy as np
    >>> pcm = io.BytesIO(np.array([0, 16384, -32768], dtype="<i2").tobytes())
    >>> [c.tolist() for c in pcm_chunks(pcm, 2)]
    [[0.0, 0.5], [-1.0]]
    """
    import numpy as np

    size = 2 * samples
    while True:
        data = b""
        while len(data) < size:
            more = binary.read(size - len(data))
            if not more:
                break
            data += more
        data = data[: len(data) // 2 * 2]
        if data:
            yield torch.from_numpy(np.frombuffer(data, dtype="<i2").astype("float32") / 32768.0)
        if len(data) < size:
            return


def paced(chunks, seconds_per_chunk, speed=1.0, clock=None, sleep=None):
    """Chunks no faster than ``speed`` times real time, as a live source
    would deliver them (``speed`` 0: as fast as possible).

    Example
    -------
    >>> now = [0.0]
    >>> waits = []
    >>> list(paced([1, 2, 3], 0.5, 1.0, clock=lambda: now[0], sleep=waits.append))
    [1, 2, 3]
    >>> waits
    [0.5, 1.0]
    """
    import time

    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    start = clock()
    for n, chunk in enumerate(chunks):
        if speed and n:
            wait = start + n * seconds_per_chunk / speed - clock()
            if wait > 0:
                sleep(wait)
        yield chunk
