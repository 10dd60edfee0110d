"""Audio loading for the recipes: any format soundfile reads, mixed down to
mono and resampled to the model's rate.

Authors
-------
* speechbrain-ee contributors 2026
"""

import soundfile as sf
import torch
import torchaudio


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


def audio_duration(path):
    """Duration in seconds of an audio file, from its header.

    Files whose header gives no frame count (some MP3s) are decoded.

    Arguments
    ---------
    path : str or Path
        Audio file readable by soundfile (FLAC, WAV, MP3, ...).

    Returns
    -------
    float or None
        Seconds, or None when the file is missing, unreadable or empty.

    Example
    -------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "a.flac")
    >>> sf.write(path, np.zeros(4000), 16000)
    >>> audio_duration(path)
    0.25
    >>> audio_duration(path + ".missing") is None
    True
    """
    try:
        info = sf.info(str(path))
        frames = info.frames
        if frames <= 0 or frames >= 2**62:  # unknown length: decode
            frames = len(sf.read(str(path), dtype="int16", always_2d=True)[0])
    except (RuntimeError, OSError, ValueError):  # soundfile's errors
        return None
    return frames / info.samplerate if frames > 0 else None
