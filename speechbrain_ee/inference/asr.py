"""Ready-to-use CTC models exported by ``speechbrain-ee export``.

`EfficientEncoderASR` is SpeechBrain's `EncoderASR` for the models of this
toolkit. Every model answers through `speechbrain_ee.lobes.contract`, so the
class runs a plain CTC encoder, an early-exit encoder (each utterance stops
at the layer its exit strategy picks), a blank-skip encoder (blank frames
skip the last layers) or both composed alike: the model refuses the options
it has no use for. It loads with ``from_hparams`` from an exported folder or
a hub id, like every SpeechBrain pretrained model.

Authors
-------
* speechbrain-ee contributors 2026
"""

import functools
import inspect
import time
from dataclasses import dataclass

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
from speechbrain_ee.lobes.contract import inference_options


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


class EfficientEncoderASR(EncoderASR):
    """A CTC model of speechbrain-ee, ready to transcribe.

    The hyperparameters (``hyperparams.yaml`` of an export) must define
    ``compute_features``, ``tokenizer``, ``decoding_function`` and the
    modules ``encoder`` (a model of `speechbrain_ee.lobes.contract`) and
    ``normalize``. The model's default inference setting is its
    ``exit_strategy``, ``skip_threshold`` and ``spike_width``, where it has
    them; every call can change them.

    Arguments
    ---------
    *args : tuple
    **kwargs : dict
        Forwarded to SpeechBrain's ``Pretrained``.

    Example
    -------
    >>> asr = EfficientEncoderASR.from_hparams(
    ...     source="exported/summarymixing_ee_blankskip", savedir="/tmp/m"
    ... )  # doctest: +SKIP
    >>> asr.transcribe_file("example.flac", exit_strategy="confidence",
    ...                     threshold=0.9, skip_threshold=0.95)  # doctest: +SKIP
    """

    HPARAMS_NEEDED = ["tokenizer", "decoding_function", "compute_features"]
    MODULES_NEEDED = ["encoder", "normalize"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sample_rate = getattr(self.hparams, "sample_rate", 16000)

    @property
    def num_layers(self):
        """Layers of the encoder stack."""
        return self.mods.encoder.num_layers

    def exit_strategy(self, exit_strategy=None, threshold=None):
        """The exit strategy to use (None for a model without one).

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
        ExitStrategy or None
        """
        if isinstance(exit_strategy, ExitStrategy):
            return exit_strategy
        if exit_strategy is None:
            # the model's own strategy; a threshold changes only the threshold
            default = getattr(self.hparams, "exit_strategy", None)
            if default is None:
                if threshold is not None:
                    raise ValueError(
                        f"threshold={threshold}: this model has no exit strategy "
                        "(no early exits); for blank skipping use skip_threshold.")
                return None
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
        exits = list(self.mods.encoder.head_layers)
        if isinstance(strategy, FixedExit) and strategy.layer not in exits:
            raise ValueError(f"exit layer {strategy.layer}: this model exits after layers "
                             f"{exits}.")
        return strategy

    def options(self, exit_strategy=None, threshold=None, skip_threshold=None):
        """The model's inference options with this call's changes.

        Arguments
        ---------
        exit_strategy, threshold
            See `exit_strategy`.
        skip_threshold : float, optional
            Blank skipping's threshold (``1.0`` skips nothing); None: the
            model's default.

        Returns
        -------
        dict
            Keyword arguments of the model's forward.
        """
        options = inference_options(self.hparams)
        options.pop("exit_strategy", None)
        strategy = self.exit_strategy(exit_strategy, threshold)
        if strategy is not None:
            options["exit_strategy"] = strategy
        if skip_threshold is not None:
            options["skip_threshold"] = skip_threshold
        return options

    def encode_batch(self, wavs, wav_lens, exit_strategy=None,
                     threshold=None, skip_threshold=None):
        """Waveforms -> the model's `EncoderOutput`.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, time]`` at the model's sample rate.
        wav_lens : torch.Tensor
            Relative lengths.
        exit_strategy : str or ExitStrategy, optional
            Early exits: see `exit_strategy`.
        threshold : float, optional
            The exit strategy's threshold (``fixed``: the layer).
        skip_threshold : float, optional
            Blank skip: the skip threshold (``1.0`` skips nothing).

        Returns
        -------
        speechbrain_ee.lobes.contract.EncoderOutput
            ``output`` holds the log-probabilities to decode.
        """
        options = self.options(exit_strategy, threshold, skip_threshold)
        wavs = wavs.float().to(self.device)
        wav_lens = wav_lens.to(self.device)
        feats = self.hparams.compute_features(wavs)
        feats = self.mods.normalize(feats, wav_lens)
        return self.mods.encoder(feats, wav_lens, **options)

    def transcribe_batch(self, wavs, wav_lens, exit_strategy=None,
                         threshold=None, skip_threshold=None):
        """Transcribes a batch of waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, time]`` at the model's sample rate.
        wav_lens : torch.Tensor
            Relative lengths.
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold, skip_threshold : float, optional
            See `encode_batch`.

        Returns
        -------
        list of Transcription
            With the text, the exit layer and the skipped share.
        """
        with torch.no_grad():
            out = self.encode_batch(wavs, wav_lens, exit_strategy, threshold,
                                    skip_threshold)
            texts = self.decode(out.output, wav_lens)
        seconds = (wav_lens.cpu() * wavs.shape[1] / self.sample_rate).tolist()
        return [
            Transcription(text, layer, out.num_layers, share, secs)
            for text, layer, share, secs in zip(
                texts, out.exit_layer.tolist(), out.skipped_shares().tolist(), seconds)
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

    def transcribe_file(self, path, exit_strategy=None, threshold=None,
                        skip_threshold=None):
        """Transcribes one audio file.

        Arguments
        ---------
        path : str
            Audio file (FLAC, WAV, MP3, OGG ...; any rate, mono or stereo).
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold, skip_threshold : float, optional
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
            wav.unsqueeze(0), torch.tensor([1.0]), exit_strategy, threshold,
            skip_threshold)[0]
        result.real_time_factor = (
            (time.perf_counter() - start) / max(result.seconds, 1e-9))
        return result

