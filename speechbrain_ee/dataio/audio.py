"""Audio loading for the recipes: any format soundfile reads, mixed down to
mono and resampled to the model's rate.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os

import soundfile as sf
import torch
import torchaudio

END_FRAMES = 1024  # frames `audio_duration` reads at the end of a file


def load_audio(path, sample_rate=16000):
    """Reads an audio file as a mono float tensor at ``sample_rate``.

    Arguments
    ---------
    path : str
        Audio file (FLAC, WAV, MP3, OGG: whatever soundfile reads).
    sample_rate : int
        The rate to resample to.

    Returns
    -------
    torch.Tensor
        Samples ``(time,)``.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> path = os.path.join(tempfile.mkdtemp(), "x.wav")
    >>> sf.write(path, np.zeros((8000, 2), dtype="float32"), 8000)
    >>> load_audio(path, 16000).shape
    torch.Size([16000])
    """
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several error types
        raise RuntimeError(f"Cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise RuntimeError(f"Audio file {path} holds no samples.")
    signal = torch.from_numpy(data).mean(dim=1)
    if rate != sample_rate:
        signal = torchaudio.functional.resample(signal, rate, sample_rate)
    return signal


def audio_duration(path, check_end=True):
    """Duration in seconds of an audio file, from its header, once its last
    frames decode: a file cut short (a copy or download that stopped) keeps
    the header of the whole file, and only reading its end shows that it
    lacks them. Reading the last frames costs a seek, not a decode.

    Files whose header gives no frame count (some MP3s) are decoded.

    Arguments
    ---------
    path : str or Path
        Audio file readable by soundfile (FLAC, WAV, MP3, ...).
    check_end : bool
        Read the last frames (default); False: the header alone.

    Returns
    -------
    float or None
        Seconds, or None when the file is missing, not a regular file (a
        device, a FIFO), unreadable, cut short or empty.

    Example
    -------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "a.flac")
    >>> sf.write(path, np.random.default_rng(0).normal(0, 0.1, 16000), 16000)
    >>> audio_duration(path)
    1.0
    >>> audio_duration(path + ".missing") is None
    True
    >>> with open(path, "r+b") as f:  # cut short
    ...     _ = f.truncate(os.path.getsize(path) // 2)
    >>> audio_duration(path) is None, audio_duration(path, check_end=False)
    (True, 1.0)
    """
    path = str(path)
    if not os.path.isfile(path):  # missing, or a device or FIFO (would block)
        return None
    try:
        with sf.SoundFile(path) as f:
            frames, rate = f.frames, f.samplerate
            if frames <= 0 or frames >= 2**62:  # unknown length: decode
                frames = len(f.read(dtype="int16", always_2d=True))
            elif check_end and f.format == "MP3":
                # Decoded whole: a seek into an MP3 lands without its bit
                # reservoir and libmpg123 prints decoder errors.
                if len(f.read(dtype="int16", always_2d=True)) < frames - END_FRAMES:
                    return None
            elif check_end:
                tail = min(frames, END_FRAMES)
                f.seek(frames - tail)
                if len(f.read(tail, dtype="int16", always_2d=True)) < tail:
                    return None
    except (RuntimeError, OSError, ValueError):  # soundfile's errors
        return None
    return frames / rate if frames > 0 else None
