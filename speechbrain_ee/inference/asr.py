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
from dataclasses import dataclass, field

import torch
from speechbrain.inference.ASR import EncoderASR

from speechbrain_ee.dataio.audio import audio_duration, load_audio
from speechbrain_ee.dataio.vad import SileroVAD
from speechbrain_ee.decoding.exit_strategies import (
    STRATEGIES,
    ExitStrategy,
    FixedExit,
    build_strategy,
    with_threshold,
)
from speechbrain_ee.inference.longform import (
    LongFormOptions,
    default_segment_seconds,
    transcribe_long,
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
    segments: list = field(default_factory=list)
    """Long-form transcription: the segments
    (`speechbrain_ee.inference.longform.SegmentTranscript`: start, end,
    text, words), in time order; empty for a file transcribed whole."""

    def __str__(self):
        return self.text

    @classmethod
    def from_segments(cls, segments, seconds, num_layers):
        """The file's result from its segments: their texts joined, the
        deepest exit layer, the skipped share weighted by duration.

        Example
        -------
        >>> from speechbrain_ee.inference.longform import SegmentTranscript
        >>> t = Transcription.from_segments(
        ...     [SegmentTranscript(0, 3, "A B", exit_layer=2, skipped_share=0.5),
        ...      SegmentTranscript(5, 6, "C", exit_layer=4)], seconds=7.0, num_layers=6)
        >>> t.text, t.exit_layer, t.skipped_share, len(t.segments)
        ('A B C', 4, 0.375, 2)
        """
        speech = sum(s.seconds for s in segments)
        return cls(
            text=" ".join(s.text for s in segments if s.text),
            exit_layer=max((s.exit_layer for s in segments), default=num_layers),
            num_layers=num_layers,
            skipped_share=sum(s.skipped_share * s.seconds for s in segments) / speech
            if speech else 0.0,
            seconds=seconds, segments=list(segments))


class EfficientEncoderASR(EncoderASR):
    """A CTC model of speechbrain-ee, ready to transcribe.

    The hyperparameters (``hyperparams.yaml`` of an export) must define
    ``compute_features``, ``tokenizer``, ``decoding_function`` and the
    modules ``ctc_model`` (a model of `speechbrain_ee.lobes.contract`) and
    ``normalize``; their ``encoder`` module is the chain stock SpeechBrain's
    ``EncoderASR`` runs (waveforms to log-probabilities; exports made
    before it existed name the contract model ``encoder``). The model's
    default inference setting is its ``exit_strategy``, ``skip_threshold``
    and ``spike_width``, where it has them; every call can change them.

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

    @classmethod
    def from_hparams(cls, source, *args, trust_remote_model=False, **kwargs):
        """SpeechBrain's ``from_hparams``, with checks before the model's
        ``hyperparams.yaml`` runs (HyperPyYAML can call any Python): a local
        folder's files must match its ``export.json``
        (`speechbrain_ee.inference.export.check_model_folder`); a hub id
        must be trusted (``trust_remote_model=True`` or the allow list, see
        `speechbrain_ee.inference.hub`), and its files are fetched into
        ``savedir`` and checked the same way before they load.

        Arguments
        ---------
        source : str
            An exported folder or a hub id.
        *args : tuple
            SpeechBrain's other arguments.
        trust_remote_model : bool
            Run a hub model's code without the allow list.
        **kwargs : dict
            SpeechBrain's (``savedir``, ``run_opts`` ...).

        Returns
        -------
        EfficientEncoderASR
        """
        from pathlib import Path

        from speechbrain.utils.fetching import LocalStrategy

        from speechbrain_ee.inference.export import check_loader, check_model_folder
        from speechbrain_ee.inference.hub import check_trusted, fetch_export

        if not Path(str(source)).exists():
            check_trusted(str(source), trust_remote_model)
            savedir = kwargs.get("savedir") or \
                Path.home() / ".cache" / "speechbrain_ee" / str(source).replace("/", "--")
            source = str(Path(fetch_export(str(source), savedir)).resolve())
            kwargs.update(savedir=savedir, local_strategy=LocalStrategy.NO_LINK)
        check_model_folder(source)
        check_loader(source)  # a joint CTC+attention export: stock EncoderDecoderASR
        return super().from_hparams(source, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sample_rate = getattr(self.hparams, "sample_rate", 16000)
        self._vad = None

    @property
    def max_segment_seconds(self):
        """Long-form segment cap: ``max_segment_seconds`` of the
        hyperparameters, else the encoder's default
        (`speechbrain_ee.inference.longform.default_segment_seconds`: longer
        for linear-time encoders)."""
        return (getattr(self.hparams, "max_segment_seconds", None)
                or default_segment_seconds(self.model))

    @property
    def vad(self):
        """The voice activity detector of long-form transcription (Silero
        VAD, loaded on first use)."""
        if self._vad is None:
            self._vad = SileroVAD()
        return self._vad

    @property
    def model(self):
        """The model of `speechbrain_ee.lobes.contract` (module
        ``ctc_model``; ``encoder`` in exports made before the stock
        SpeechBrain layout)."""
        return self.mods["ctc_model"] if "ctc_model" in self.mods else self.mods.encoder

    @property
    def num_layers(self):
        """Layers of the encoder stack."""
        return self.model.num_layers

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
        exits = list(self.model.head_layers)
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
        return self.model(feats, wav_lens, **options)

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
        (greedy, or a SpeechBrain CTC beam searcher); a word boundary
        emitted first or last leaves no space around the text."""
        wav_lens = wav_lens.to(log_probs.device)
        if isinstance(self.hparams.decoding_function, functools.partial):
            sequences = self.decoding_function(log_probs, wav_lens)
            texts = [self.tokenizer.decode_ids(s) for s in sequences]
        else:
            texts = [h[0].text for h in self.decoding_function(log_probs, wav_lens)]
        return [" ".join(text.split()) for text in texts]

    def load_audio(self, path, savedir=None):
        """Reads an audio file (any format soundfile reads) as a mono
        waveform at the model's sample rate; names the file on error."""
        return load_audio(str(path), self.sample_rate).to(self.device)

    def long_form_options(self, long_form=None):
        """The long-form settings of a call, resolved for this model.

        Arguments
        ---------
        long_form : LongFormOptions or bool, optional
            None or True: the defaults (files longer than
            `max_segment_seconds` are cut at pauses); False: never cut.

        Returns
        -------
        LongFormOptions or None
            None when files are never cut.
        """
        if long_form is False:
            return None
        if long_form is None or long_form is True:
            long_form = LongFormOptions()
        return long_form.resolved(self.max_segment_seconds)

    def transcribe_file(self, path, exit_strategy=None, threshold=None,
                        skip_threshold=None, long_form=None):
        """Transcribes one audio file; a long one in segments cut at pauses,
        in memory that does not grow with its length
        (`speechbrain_ee.inference.longform`).

        Arguments
        ---------
        path : str
            Audio file (FLAC, WAV, MP3, OGG ...; any rate, mono or stereo).
        exit_strategy : str or ExitStrategy, optional
            Early-exit models: see `exit_strategy`.
        threshold, skip_threshold : float, optional
            See `encode_batch`.
        long_form : LongFormOptions or bool, optional
            How a long file is cut (see `long_form_options`); default: files
            longer than `max_segment_seconds` are.

        Returns
        -------
        Transcription
            ``str()`` of it is the text; also the exit layer, the real-time
            factor and, for a file cut into segments, the segments with
            their times.
        """
        start = time.perf_counter()
        options = self.long_form_options(long_form)
        if options is not None and options.applies(audio_duration(path)):
            segments, seconds = transcribe_long(
                self, path, options, self.vad if options.use_vad else None,
                exit_strategy=exit_strategy, threshold=threshold,
                skip_threshold=skip_threshold)
            result = Transcription.from_segments(segments, seconds, self.num_layers)
            result.real_time_factor = (time.perf_counter() - start) / max(seconds, 1e-9)
            return result
        wav = self.load_audio(path)
        result = self.transcribe_batch(
            wav.unsqueeze(0), torch.tensor([1.0]), exit_strategy, threshold,
            skip_threshold)[0]
        result.real_time_factor = (
            (time.perf_counter() - start) / max(result.seconds, 1e-9))
        return result

