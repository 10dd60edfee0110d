"""Audio read in pieces, for recordings too long to hold whole: block by
block (`audio_blocks`) and a stretch at a time (`read_span`), mono and
resampled as `speechbrain_ee.dataio.audio.load_audio` reads a whole file.

Authors
-------
* speechbrain-ee contributors 2026
"""

import math

import soundfile as sf
import torch
import torchaudio


def _mono(data, rate, sample_rate):
    """``[time, channels]`` numpy samples -> mono tensor at ``sample_rate``."""
    signal = torch.from_numpy(data).mean(dim=1)
    if rate != sample_rate:
        signal = torchaudio.functional.resample(signal, rate, sample_rate)
    return signal


def audio_blocks(path, sample_rate=16000, block_seconds=30.0):
    """Reads an audio file block by block.

    Memory stays that of one block, whatever the file's length. Each block
    is resampled on its own (a few samples of edge effect at each joint:
    fine for voice activity detection, which is what it is for).

    Arguments
    ---------
    path : str or Path
        Audio file (whatever soundfile reads).
    sample_rate : int
        The rate to resample to.
    block_seconds : float
        Seconds per block (of the file).

    Yields
    ------
    torch.Tensor
        Mono samples ``(time,)`` at ``sample_rate``.

    Example
    -------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "b.wav")
    >>> sf.write(path, np.zeros((8000, 2), dtype="float32"), 8000)
    >>> [len(b) for b in audio_blocks(path, 16000, block_seconds=0.4)]
    [6400, 6400, 3200]
    """
    with sf.SoundFile(str(path)) as f:
        rate = f.samplerate
        step = rate // math.gcd(rate, sample_rate)  # whole output samples per block
        frames = max(step, round(block_seconds * rate) // step * step)
        while True:
            data = f.read(frames, dtype="float32", always_2d=True)
            if not len(data):
                return
            yield _mono(data, rate, sample_rate)


def read_span(path, start, end, sample_rate=16000):
    """Reads seconds ``[start, end)`` of an audio file (mono, resampled),
    seeking to ``start`` rather than decoding what comes before.

    Arguments
    ---------
    path : str or Path
        Audio file (whatever soundfile reads).
    start, end : float
        Seconds.
    sample_rate : int
        The rate to resample to.

    Returns
    -------
    torch.Tensor
        Samples ``(time,)``.

    Example
    -------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "s.flac")
    >>> sf.write(path, np.arange(16000) / 16000, 16000)
    >>> span = read_span(path, 0.5, 0.75)
    >>> len(span), round(float(span[0]), 3)
    (4000, 0.5)
    """
    with sf.SoundFile(str(path)) as f:
        rate = f.samplerate
        first = int(round(start * rate))
        f.seek(first)
        data = f.read(int(round(end * rate)) - first, dtype="float32", always_2d=True)
    return _mono(data, rate, sample_rate)
