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
