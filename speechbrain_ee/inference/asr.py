"""Ready-to-use CTC models exported by ``speechbrain-ee export``.

`EfficientEncoderASR` is SpeechBrain's `EncoderASR` for the models of this
toolkit: a plain CTC encoder, an early-exit encoder (each utterance stops
at the layer its exit strategy picks) or a blank-skip encoder (blank frames
skip the last layers). It loads with ``from_hparams`` from an exported
folder or a hub id, like every SpeechBrain pretrained model.

Authors
-------
* speechbrain-ee contributors 2026
"""

import functools
import inspect
import time
from dataclasses import dataclass
from typing import List

import torch
from speechbrain.inference.ASR import EncoderASR

from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.decoding.exit_strategies import (
    STRATEGIES,
    ExitStrategy,
    FixedExit,
    build_strategy,
    with_threshold,
)

MODEL_KINDS = ("ctc", "early_exit", "blank_skip")


@dataclass
class Transcription:
    """One utterance's result; ``str()`` gives the text.

    Example
    -------
    >>> t = Transcription("HELLO WORLD", exit_layer=4, num_layers=6)
    >>> str(t), t.exit_layer
    ('HELLO WORLD', 4)
    """

    text: str
    exit_layer: int
    """The layer whose output was decoded (early exits: where the
    utterance stopped; otherwise the last layer)."""
    num_layers: int
    """Layers of the encoder stack."""
    skipped_share: float = 0.0
    """Blank skip: share of the frames that skipped the last layers."""
    seconds: float = 0.0
    """Duration of the audio."""
    real_time_factor: float = 0.0
    """Processing time over ``seconds`` (``transcribe_file`` only)."""

    def __str__(self):
        return self.text


@dataclass
class EncoderResult:
    """What `EfficientEncoderASR.encode_batch` returns."""

    log_probs: torch.Tensor
    """``[batch, time, vocab]`` CTC log-probabilities that are decoded."""
    exit_layers: List[int]
    """Per utterance, the layer whose output ``log_probs`` holds."""
    skipped_share: List[float]
    """Per utterance, share of frames that skipped layers (blank skip)."""


class EfficientEncoderASR(EncoderASR):
    """A CTC model of speechbrain-ee, ready to transcribe.

    The hyperparameters (``hyperparams.yaml`` of an export) must define
    ``model_kind`` (``ctc``, ``early_exit`` or ``blank_skip``),
    ``compute_features``, ``tokenizer``, ``decoding_function`` and the
    modules ``encoder`` and ``normalize`` (and ``ctc_lin`` with
    ``log_softmax`` for ``ctc``). Early-exit models take their default
    strategy from ``exit_strategy``; blank-skip models their threshold from
    ``skip_threshold`` and ``spike_width``.

    Arguments
    ---------
    *args : tuple
    **kwargs : dict
        Forwarded to SpeechBrain's ``Pretrained``.

    Example
    -------
    >>> asr = EfficientEncoderASR.from_hparams(
    ...     source="exported/conformer_early_exit", savedir="/tmp/m"
    ... )  # doctest: +SKIP
    >>> asr.transcribe_file("example.flac", exit_strategy="confidence",
    ...                     threshold=0.9)  # doctest: +SKIP
    """

    HPARAMS_NEEDED = ["tokenizer", "decoding_function", "compute_features",
                      "model_kind"]
    MODULES_NEEDED = ["encoder", "normalize"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = self.hparams.model_kind
        if self.kind not in MODEL_KINDS:
            raise ValueError(
                f"model_kind {self.kind!r} in hyperparams.yaml: expected one "
                f"of {MODEL_KINDS}.")
        self.sample_rate = getattr(self.hparams, "sample_rate", 16000)

    @property
    def num_layers(self):
        """Layers of the encoder stack."""
        encoder = self.mods.encoder
        if self.kind == "ctc":  # an ASREncoder: front end and stack
            return len(encoder.encoder.layers)
        return encoder.num_layers  # the early-exit and blank-skip wrappers

    def exit_strategy(self, exit_strategy=None, threshold=None):
        """The exit strategy to use (early-exit models).

        Arguments
        ---------
        exit_strategy : str or ExitStrategy, optional
            A registered name (``fixed``, ``confidence``,
            ``sequence_confidence``, ``patience``, ``token_confidence``) or
            a strategy; ``None``: the model's default (``exit_strategy`` of
            its hyperparameters).
        threshold : float, optional
            The strategy's threshold; for ``fixed``, the exit layer.

        Returns
        -------
        ExitStrategy
        """
        if isinstance(exit_strategy, ExitStrategy):
            return exit_strategy
        if exit_strategy is None:
            # the model's own strategy; a threshold changes only the threshold
            default = self.hparams.exit_strategy
            strategy = default if threshold is None else with_threshold(default, threshold)
            return self._checked_exit(strategy)
        if exit_strategy == "fixed":
            layer = self.num_layers if threshold is None else int(threshold)
            return self._checked_exit(FixedExit(layer))
        kwargs = {} if threshold is None else {"threshold": threshold}
        cls = STRATEGIES.get(exit_strategy)
        if cls and "blank_index" in inspect.signature(cls).parameters:
            kwargs["blank_index"] = getattr(self.hparams, "blank_index", 0)
        return build_strategy(exit_strategy, **kwargs)

    def _checked_exit(self, strategy):
        """``strategy``, after checking that a fixed exit is a model exit."""
        exits = list(self.mods.encoder.exit_layers)
        if isinstance(strategy, FixedExit) and strategy.layer not in exits:
            raise ValueError(f"exit layer {strategy.layer}: this model exits after layers "
                             f"{exits}.")
        return strategy

    def encode_batch(self, wavs, wav_lens, exit_strategy=None,
                     threshold=None):
        """Waveforms -> CTC log-probabilities of the output to decode.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, time]`` at the model's sample rate.
        wav_lens : torch.Tensor
            Relative lengths.
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold : float, optional
            Early exits: the strategy's threshold (``fixed``: the layer);
            blank skip: the skip threshold (``1.0`` skips nothing).

        Returns
        -------
        EncoderResult
        """
        if self.kind != "early_exit" and exit_strategy is not None:
            raise ValueError(
                f"exit_strategy={exit_strategy!r}: this is a {self.kind} "
                "model without early exits.")
        if self.kind == "ctc" and threshold is not None:
            raise ValueError(
                "threshold: a plain CTC model has no exit or skip threshold.")
        wavs = wavs.float().to(self.device)
        wav_lens = wav_lens.to(self.device)
        feats = self.hparams.compute_features(wavs)
        feats = self.mods.normalize(feats, wav_lens)
        batch = wavs.shape[0]
        if self.kind == "early_exit":
            out = self.mods.encoder.infer(
                feats, wav_lens, self.exit_strategy(exit_strategy, threshold)
            )
            layers = self.mods.encoder.exit_layers
            exits = [layers[int(p)] for p in out.exit_positions]
            return EncoderResult(out.log_probs, exits, [0.0] * batch)
        if self.kind == "blank_skip":
            out = self.mods.encoder(
                feats, wav_lens,
                threshold=(self.hparams.skip_threshold if threshold is None
                           else threshold),
                spike_width=self.hparams.spike_width,
            )
            real = (~out.padding).sum(dim=1).clamp(min=1)
            shares = (out.skipped.sum(dim=1) / real).tolist()
            return EncoderResult(out.log_probs[-1], [self.num_layers] * batch,
                                 shares)
        encoded = self.mods.encoder(feats, wav_lens)
        log_probs = self.hparams.log_softmax(self.mods.ctc_lin(encoded))
        return EncoderResult(log_probs, [self.num_layers] * batch,
                             [0.0] * batch)

    def transcribe_batch(self, wavs, wav_lens, exit_strategy=None,
                         threshold=None):
        """Transcribes a batch of waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, time]`` at the model's sample rate.
        wav_lens : torch.Tensor
            Relative lengths.
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold : float, optional
            See `encode_batch`.

        Returns
        -------
        list of Transcription
            With the text, the exit layer and the skipped share.
        """
        with torch.no_grad():
            result = self.encode_batch(wavs, wav_lens, exit_strategy,
                                       threshold)
            texts = self.decode(result.log_probs, wav_lens)
        seconds = (wav_lens.cpu() * wavs.shape[1] / self.sample_rate).tolist()
        return [
            Transcription(text, layer, self.num_layers, share, secs)
            for text, layer, share, secs in zip(
                texts, result.exit_layers, result.skipped_share, seconds)
        ]

    def decode(self, log_probs, wav_lens):
        """CTC log-probabilities -> texts, with ``decoding_function``
        (greedy, or a SpeechBrain CTC beam searcher)."""
        wav_lens = wav_lens.to(log_probs.device)
        if isinstance(self.hparams.decoding_function, functools.partial):
            sequences = self.decoding_function(log_probs, wav_lens)
            return [self.tokenizer.decode_ids(s) for s in sequences]
        hyps = self.decoding_function(log_probs, wav_lens)
        return [h[0].text for h in hyps]

    def load_audio(self, path, savedir=None):
        """Reads an audio file (any format soundfile reads) as a mono
        waveform at the model's sample rate; names the file on error."""
        return load_audio(str(path), self.sample_rate).to(self.device)

    def transcribe_file(self, path, exit_strategy=None, threshold=None):
        """Transcribes one audio file.

        Arguments
        ---------
        path : str
            Audio file (FLAC, WAV, MP3, OGG ...; any rate, mono or stereo).
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold : float, optional
            See `encode_batch`.

        Returns
        -------
        Transcription
            ``str()`` of it is the text; also the exit layer and the
            real-time factor.
        """
        start = time.perf_counter()
        wav = self.load_audio(path)
        result = self.transcribe_batch(
            wav.unsqueeze(0), torch.tensor([1.0]), exit_strategy, threshold
        )[0]
        result.real_time_factor = (
            (time.perf_counter() - start) / max(result.seconds, 1e-9))
        return result

