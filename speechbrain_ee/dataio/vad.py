"""Voice activity detection for long recordings: where the pauses are.

`SileroVAD` gives a speech probability per 32 ms frame with Silero VAD's
model, which the ``silero-vad`` wheel ships (``silero_vad/data/
silero_vad.jit``): it is loaded from the installed package, never
downloaded, and it runs on the CPU with the project's torch. The package
itself is not imported: its ``__init__`` calls ``torch.set_num_threads(1)``
for the whole process. The functions below turn the probabilities into
speech regions (hysteresis, short pauses closed, blips dropped); they are
plain functions of arrays, tested on hand-made sequences.

References
----------
* Silero Team, "Silero VAD: pre-trained enterprise-grade Voice Activity
  Detector", https://github.com/snakers4/silero-vad (MIT licence).

Authors
-------
* speechbrain-ee contributors 2026
"""

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torchaudio

SILERO_RATE = 16000
SILERO_WINDOW = 512  # samples per frame at 16 kHz (32 ms)


def silero_model_path():
    """The TorchScript model inside the installed ``silero-vad`` wheel.

    Example
    -------
    >>> silero_model_path().name
    'silero_vad.jit'
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad is not installed (pip install silero-vad; "
                          "a dependency of speechbrain-ee).")
    path = Path(spec.submodule_search_locations[0]) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: reinstall silero-vad.")
    return path


class SileroVAD:
    """Speech probability per 32 ms frame, fed block by block.

    The model keeps its recurrent state between calls, so a recording read
    in blocks gives the same probabilities as read whole; `probabilities`
    resets it at the start of each recording.

    Arguments
    ---------
    model : torch.jit.ScriptModule, optional
        Silero VAD's model; default: the one in the installed wheel.

    Example
    -------
    >>> vad = SileroVAD()
    >>> quiet = torch.zeros(16000)
    >>> probs = vad.probabilities([quiet[:7000], quiet[7000:]], 16000)
    >>> len(probs), bool(probs.max() < 0.5), vad.frame_seconds
    (32, True, 0.032)
    """

    frame_seconds = SILERO_WINDOW / SILERO_RATE

    def __init__(self, model=None):
        if model is None:
            model = torch.jit.load(str(silero_model_path()), map_location="cpu")
        self.model = model.eval()

    @torch.no_grad()
    def probabilities(self, blocks, sample_rate):
        """Speech probabilities of a recording given as consecutive blocks.

        Arguments
        ---------
        blocks : iterable of torch.Tensor
            Mono waveform blocks ``[time]`` (any sizes), in order.
        sample_rate : int
            Their rate (resampled to 16 kHz for the model).

        Returns
        -------
        numpy.ndarray
            One probability per frame of `frame_seconds`; the last partial
            frame is zero-padded.
        """
        self.model.reset_states()
        probs, rest = [], torch.zeros(0)
        for block in blocks:
            block = block.float().cpu()
            if sample_rate != SILERO_RATE:
                block = torchaudio.functional.resample(block, sample_rate, SILERO_RATE)
            rest = torch.cat([rest, block])
            usable = len(rest) // SILERO_WINDOW * SILERO_WINDOW
            probs += self._frames(rest[:usable])
            rest = rest[usable:]
        if len(rest):
            probs += self._frames(torch.nn.functional.pad(rest, (0, SILERO_WINDOW - len(rest))))
        return np.asarray(probs, dtype=np.float32)

    def _frames(self, audio):
        """Probabilities of whole frames, in order."""
        return [float(self.model(frame.unsqueeze(0), SILERO_RATE))
                for frame in audio.split(SILERO_WINDOW) if len(frame) == SILERO_WINDOW]


def hysteresis(probs, threshold=0.5, neg_threshold=None):
    """Speech frames: speech starts at ``threshold`` and lasts until the
    probability falls below ``neg_threshold``.

    Arguments
    ---------
    probs : sequence of float
        Speech probability per frame.
    threshold : float
        Speech starts at or above it.
    neg_threshold : float, optional
        Speech ends below it (default: ``threshold - 0.15``, as Silero's).

    Returns
    -------
    numpy.ndarray
        Bool per frame.

    Example
    -------
    >>> hysteresis([0.1, 0.6, 0.4, 0.3, 0.7, 0.2]).astype(int).tolist()
    [0, 1, 1, 0, 1, 0]
    """
    if neg_threshold is None:
        neg_threshold = threshold - 0.15
    speech, active = np.zeros(len(probs), dtype=bool), False
    for i, p in enumerate(probs):
        active = p >= threshold or (active and p >= neg_threshold)
        speech[i] = active
    return speech


def runs(mask):
    """``(start, end)`` frame ranges (end exclusive) of the True runs.

    Example
    -------
    >>> runs([0, 1, 1, 0, 0, 1])
    [(1, 3), (5, 6)]
    """
    padded = np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2])]


def close_gaps(regions, min_gap):
    """Joins regions separated by less than ``min_gap``.

    Example
    -------
    >>> close_gaps([(0.0, 1.0), (1.1, 2.0), (3.0, 4.0)], min_gap=0.3)
    [(0.0, 2.0), (3.0, 4.0)]
    """
    joined = []
    for start, end in regions:
        if joined and start - joined[-1][1] < min_gap:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def speech_regions(probs, frame_seconds, total_seconds, threshold=0.5,
                   neg_threshold=None, min_pause=0.2, min_speech=0.1):
    """Speech regions, in seconds, from per-frame speech probabilities.

    Arguments
    ---------
    probs : sequence of float
        Speech probability per frame (`SileroVAD.probabilities`).
    frame_seconds : float
        Duration of a frame.
    total_seconds : float
        Duration of the recording (regions end there at the latest).
    threshold, neg_threshold : float
        See `hysteresis`.
    min_pause : float
        Pauses shorter than this do not separate regions.
    min_speech : float
        Regions shorter than this (after joining) are dropped.

    Returns
    -------
    list of tuple
        ``(start, end)`` in seconds, in order, not overlapping.

    Example
    -------
    >>> probs = [0, 0, .9, .9, .9, 0, .9, .9, 0, 0, 0, 0, .9, 0]
    >>> speech_regions(probs, frame_seconds=0.1, total_seconds=1.4,
    ...                min_pause=0.2, min_speech=0.15)
    [(0.2, 0.8)]
    """
    regions = [(round(s * frame_seconds, 6), round(min(e * frame_seconds, total_seconds), 6))
               for s, e in runs(hysteresis(probs, threshold, neg_threshold))]
    return [(s, e) for s, e in close_gaps(regions, min_pause) if e - s >= min_speech]
