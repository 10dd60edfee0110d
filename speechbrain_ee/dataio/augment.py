"""Waveform augmentations for recording conditions that SpeechBrain's augment
package covers only with data files: room reverberation without an impulse
response corpus, band limiting (telephone band, low-pass) and noise with a
white, pink or brown spectrum.

``SyntheticReverb`` and ``BandLimit`` take and return ``(batch, time)``
waveforms with relative ``lengths``, as SpeechBrain's time-domain
augmentations do, so ``speechbrain.augment.augmenter.Augmenter`` mixes them with
``SpeedPerturb``, ``DropFreq`` and ``AddNoise``; ``colored_noise_like`` is a
``noise_funct`` for ``AddNoise``. With a real corpus, SpeechBrain's
``AddReverb`` and ``AddNoise`` with measured impulse responses and recorded
noise (OpenRIR, MUSAN) are the usual choice; these need nothing but the
speech.
"""

import torch
import torchaudio

from speechbrain.dataio.dataio import length_to_mask

__all__ = ["SyntheticReverb", "BandLimit", "colored_noise_like"]

# Noise colours: the exponent of 1/f in the power spectrum (white, pink, brown).
_COLOR_EXPONENTS = (0.0, 1.0, 2.0)


def _valid_mask(waveforms, lengths):
    """(batch, time) float mask of the samples inside each relative length."""
    if lengths is None:
        return torch.ones_like(waveforms)
    frames = torch.round(lengths * waveforms.shape[1])
    return length_to_mask(frames, waveforms.shape[1]).to(waveforms.dtype)


def _uniform(low, high, count, device):
    return low + (high - low) * torch.rand(count, device=device)


class SyntheticReverb(torch.nn.Module):
    """Room reverberation with synthetic impulse responses: a direct path and
    an exponentially decaying noise tail that falls by 60 dB in RT60 seconds,
    drawn anew for every utterance.

    The output keeps each input's length and peak level; padding stays zero.

    Arguments
    ---------
    rt60_low : float
        Shortest reverberation time (s).
    rt60_high : float
        Longest reverberation time (s).
    wet_low : float
        Smallest energy of the tail relative to the direct path.
    wet_high : float
        Largest.
    sample_rate : int
        Sample rate of the waveforms.
    predelay_ms : float
        Gap between the direct path and the tail.

    Example
    -------
    >>> reverb = SyntheticReverb(0.3, 0.3)
    >>> clicks = torch.zeros(2, 8000); clicks[:, 0] = 1.0
    >>> out = reverb(clicks, torch.tensor([1.0, 0.5]))
    >>> out.shape, bool(out[0, 2000:].abs().sum() > 0), float(out[1, 4000:].abs().sum())
    (torch.Size([2, 8000]), True, 0.0)
    """

    def __init__(self, rt60_low=0.2, rt60_high=0.6, wet_low=0.3, wet_high=0.8,
                 sample_rate=16000, predelay_ms=5.0):
        super().__init__()
        if not 0 < rt60_low <= rt60_high:
            raise ValueError(f"SyntheticReverb: need 0 < rt60_low <= rt60_high, got "
                             f"{rt60_low} and {rt60_high}.")
        self.rt60_low, self.rt60_high = rt60_low, rt60_high
        self.wet_low, self.wet_high = wet_low, wet_high
        self.sample_rate = sample_rate
        self.predelay = int(predelay_ms * sample_rate / 1000)

    def impulse_responses(self, count, device=None):
        """Draws ``count`` impulse responses, zero-padded to the longest.

        Arguments
        ---------
        count : int
            How many.
        device : torch.device or None
            Where to build them.

        Returns
        -------
        torch.Tensor
            (count, samples): 1 at sample 0, then the decaying tail.

        Example
        -------
        >>> rirs = SyntheticReverb(0.1, 0.2).impulse_responses(3)
        >>> rirs.shape[0], rirs[:, 0].tolist(), rirs.shape[1] <= 3200
        (3, [1.0, 1.0, 1.0], True)
        """
        rt60 = _uniform(self.rt60_low, self.rt60_high, count, device)
        wet = _uniform(self.wet_low, self.wet_high, count, device)
        length = int(self.rt60_high * self.sample_rate)
        t = torch.arange(length, device=device) / self.sample_rate
        decay = torch.exp(-6.908 * t.unsqueeze(0) / rt60.unsqueeze(1))
        tail = torch.randn(count, length, device=device) * decay
        tail[:, : self.predelay + 1] = 0.0
        tail *= wet.sqrt().unsqueeze(1) / tail.norm(dim=1, keepdim=True).clamp_min(1e-12)
        tail[:, 0] = 1.0
        return tail

    def forward(self, waveforms, lengths=None):
        """Reverberates a batch.

        Arguments
        ---------
        waveforms : torch.Tensor
            (batch, time).
        lengths : torch.Tensor or None
            Relative lengths (None: all full).

        Returns
        -------
        torch.Tensor
            (batch, time), each row at its input's peak level.
        """
        mask = _valid_mask(waveforms, lengths)
        dry = waveforms * mask
        rirs = self.impulse_responses(waveforms.shape[0], waveforms.device)
        wet = torchaudio.functional.fftconvolve(dry, rirs)[:, : waveforms.shape[1]] * mask
        peak_in = dry.abs().amax(dim=1, keepdim=True)
        peak_out = wet.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)
        return wet * peak_in / peak_out


class BandLimit(torch.nn.Module):
    """Band limiting as a recording channel does it: the telephone band
    (300-3400 Hz) with probability ``telephone_prob``, otherwise a low-pass at
    a cut-off drawn between ``cutoff_low`` and ``cutoff_high`` Hz, per
    utterance. The filter is applied in the frequency domain over the whole
    utterance with a cosine taper of ``taper_hz``.

    Arguments
    ---------
    cutoff_low : float
        Lowest low-pass cut-off (Hz).
    cutoff_high : float
        Highest low-pass cut-off (Hz).
    telephone_prob : float
        Share of utterances given the telephone band instead.
    sample_rate : int
        Sample rate of the waveforms.
    taper_hz : float
        Width of the transition band.

    Example
    -------
    >>> rate = 16000
    >>> t = torch.arange(rate) / rate
    >>> tones = torch.sin(2 * torch.pi * 6000 * t) + torch.sin(2 * torch.pi * 1000 * t)
    >>> out = BandLimit(3000, 4000)(tones.expand(2, -1), torch.ones(2))
    >>> spectrum = torch.fft.rfft(out).abs()
    >>> bool((spectrum[:, 6000] < 1e-3 * spectrum[:, 1000]).all())
    True
    """

    def __init__(self, cutoff_low=3000.0, cutoff_high=6000.0, telephone_prob=0.5,
                 sample_rate=16000, taper_hz=200.0):
        super().__init__()
        self.cutoff_low, self.cutoff_high = cutoff_low, cutoff_high
        self.telephone_prob = telephone_prob
        self.sample_rate = sample_rate
        self.taper_hz = taper_hz

    def _gains(self, low, high, num_bins, device):
        """(batch, bins) gains: 1 inside [low, high], cosine tapers outside."""
        freqs = torch.linspace(0, self.sample_rate / 2, num_bins, device=device).unsqueeze(0)
        below = ((low.unsqueeze(1) - freqs) / self.taper_hz).clamp(0, 1)
        above = ((freqs - high.unsqueeze(1)) / self.taper_hz).clamp(0, 1)
        return torch.cos(0.5 * torch.pi * torch.maximum(below, above))

    def forward(self, waveforms, lengths=None):
        """Band-limits a batch.

        Arguments
        ---------
        waveforms : torch.Tensor
            (batch, time).
        lengths : torch.Tensor or None
            Relative lengths (None: all full).

        Returns
        -------
        torch.Tensor
            (batch, time).
        """
        batch, device = waveforms.shape[0], waveforms.device
        phone = torch.rand(batch, device=device) < self.telephone_prob
        high = _uniform(self.cutoff_low, self.cutoff_high, batch, device)
        high = torch.where(phone, torch.full_like(high, 3400.0), high)
        low = torch.where(phone, torch.full_like(high, 300.0), torch.zeros_like(high))
        mask = _valid_mask(waveforms, lengths)
        spectrum = torch.fft.rfft(waveforms * mask, dim=1)
        gains = self._gains(low, high, spectrum.shape[1], device)
        return torch.fft.irfft(spectrum * gains, n=waveforms.shape[1], dim=1) * mask


def colored_noise_like(waveforms):
    """Gaussian noise shaped like ``waveforms``, each row white, pink (1/f)
    or brown (1/f^2) at random: a ``noise_funct`` for SpeechBrain's
    ``AddNoise``, which scales it to the drawn SNR.

    Arguments
    ---------
    waveforms : torch.Tensor
        (batch, time) or (batch, time, channels).

    Returns
    -------
    torch.Tensor
        Noise of the same shape, unit variance per row.

    Example
    -------
    >>> noise = colored_noise_like(torch.zeros(4, 16000))
    >>> noise.shape, [round(float(s), 1) for s in noise.std(dim=1)]
    (torch.Size([4, 16000]), [1.0, 1.0, 1.0, 1.0])
    """
    white = torch.randn_like(waveforms)
    spectrum = torch.fft.rfft(white, dim=1)
    freqs = torch.arange(spectrum.shape[1], device=waveforms.device, dtype=waveforms.dtype)
    freqs[0] = 1.0
    exponents = torch.tensor(_COLOR_EXPONENTS, device=waveforms.device, dtype=waveforms.dtype)
    exponent = exponents[torch.randint(len(_COLOR_EXPONENTS), (waveforms.shape[0],))]
    shape = (-1,) + (1,) * (waveforms.dim() - 1)
    tilt = freqs.view((1, -1) + (1,) * (waveforms.dim() - 2)) ** (-exponent.view(shape) / 2)
    noise = torch.fft.irfft(spectrum * tilt, n=waveforms.shape[1], dim=1)
    return noise / noise.std(dim=1, keepdim=True).clamp_min(1e-12)
