"""The recording-condition augmentations (speechbrain_ee.dataio.augment):
reverberation decays as its RT60 says, band limits pass and stop what they
should, noise colours have their spectral slopes, padding stays silent, and
SpeechBrain's Augmenter and AddNoise run them."""

import math

import pytest
import torch
from speechbrain.augment.augmenter import Augmenter
from speechbrain.augment.time_domain import AddNoise

from speechbrain_ee.dataio.augment import BandLimit, SyntheticReverb, colored_noise_like

RATE = 16000


def _tone(hz, seconds=1.0, batch=1):
    t = torch.arange(int(seconds * RATE)) / RATE
    return torch.sin(2 * math.pi * hz * t).expand(batch, -1).clone()


def _band_power(x, low, high):
    spectrum = torch.fft.rfft(x).abs() ** 2
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / RATE)
    return spectrum[..., (freqs >= low) & (freqs < high)].sum(-1)


@pytest.mark.parametrize("rt60", [0.2, 0.5])
def test_reverb_tail_falls_60_db_in_rt60(rt60):
    torch.manual_seed(0)
    rir = SyntheticReverb(rt60, rt60, wet_low=1.0, wet_high=1.0).impulse_responses(1)[0]
    energy = rir[1:] ** 2
    # Schroeder's backward integration: the energy left after time t.
    left = torch.flip(torch.cumsum(torch.flip(energy, [0]), 0), [0])
    decay_db = 10 * torch.log10(left / left[0])
    t = torch.arange(len(decay_db)) / RATE
    # The -5 to -25 dB stretch extrapolated to -60 dB (T20), as rooms are measured.
    fit = (decay_db < -5) & (decay_db > -25)
    slope = torch.linalg.lstsq(torch.stack([t[fit], torch.ones_like(t[fit])], 1),
                               decay_db[fit].unsqueeze(1)).solution[0, 0]
    assert -60 / float(slope) == pytest.approx(rt60, rel=0.1)


def test_reverb_wet_energy_and_direct_path():
    torch.manual_seed(0)
    rirs = SyntheticReverb(0.3, 0.3, wet_low=0.5, wet_high=0.5).impulse_responses(4)
    assert torch.equal(rirs[:, 0], torch.ones(4))
    assert (rirs[:, 1:] ** 2).sum(1).tolist() == pytest.approx([0.5] * 4, rel=1e-4)


def test_reverb_keeps_length_peak_and_silent_padding():
    torch.manual_seed(0)
    speech = torch.randn(3, RATE) * torch.tensor([[0.1], [0.5], [0.9]])
    lengths = torch.tensor([1.0, 0.6, 0.3])
    out = SyntheticReverb()(speech, lengths)
    assert out.shape == speech.shape
    for row, rel in enumerate(lengths.tolist()):
        end = round(rel * RATE)
        assert float(out[row, end:].abs().sum()) == 0.0
        assert float(out[row, :end].abs().max()) == pytest.approx(
            float(speech[row, :end].abs().max()), rel=1e-4)


def test_reverb_refuses_bad_range():
    with pytest.raises(ValueError, match="rt60_low"):
        SyntheticReverb(0.5, 0.2)


def test_telephone_band_passes_speech_band_only():
    mixed = _tone(100) + _tone(1000) + _tone(6000)
    out = BandLimit(telephone_prob=1.0)(mixed, torch.ones(1))
    kept = _band_power(out, 900, 1100) / _band_power(mixed, 900, 1100)
    assert float(kept) == pytest.approx(1.0, rel=1e-3)
    for low, high in [(50, 150), (5900, 6100)]:
        assert float(_band_power(out, low, high) / _band_power(mixed, low, high)) < 1e-6


def test_lowpass_cutoff_drawn_in_range():
    torch.manual_seed(0)
    limit = BandLimit(cutoff_low=3000, cutoff_high=5000, telephone_prob=0.0)
    mixed = _tone(2000, batch=8) + _tone(5500, batch=8)
    out = limit(mixed, torch.ones(8))
    assert (_band_power(out, 1900, 2100) / _band_power(mixed, 1900, 2100)).min() > 0.999
    assert (_band_power(out, 5400, 5600) / _band_power(mixed, 5400, 5600)).max() < 1e-6


def test_band_limit_padding_stays_silent():
    out = BandLimit()(torch.randn(2, RATE), torch.tensor([1.0, 0.5]))
    assert float(out[1, RATE // 2:].abs().sum()) == 0.0


def test_noise_colours_have_their_slopes():
    torch.manual_seed(0)
    noise = colored_noise_like(torch.zeros(300, 2 * RATE))
    # Power per octave: flat per octave for pink, doubling per octave for
    # white, halving for brown; each row is one of the three.
    ratio = _band_power(noise, 2000, 4000) / _band_power(noise, 1000, 2000)
    slopes = torch.round(torch.log2(ratio)).tolist()
    assert sorted(set(slopes)) == [-1.0, 0.0, 1.0]
    assert min(slopes.count(s) for s in (-1.0, 0.0, 1.0)) > 60


def test_colored_noise_through_add_noise_at_white_noise_snr():
    # AddNoise sets the SNR of mean absolute amplitudes; coloured Gaussian
    # noise must come out at the same power ratio as its default white noise.
    clean = _tone(440, batch=4)

    def snr_db(noise_funct):
        torch.manual_seed(0)
        add = AddNoise(snr_low=10, snr_high=10, noise_funct=noise_funct)
        noise = add(clean, torch.ones(4)) - clean
        return (10 * torch.log10(clean.pow(2).mean(1) / noise.pow(2).mean(1))).tolist()

    assert snr_db(colored_noise_like) == pytest.approx(snr_db(torch.randn_like), abs=0.1)


def test_augmenter_runs_them_with_speechbrain_lengths():
    torch.manual_seed(0)
    augment = Augmenter(min_augmentations=2, max_augmentations=2, augment_prob=1.0,
                        shuffle_augmentations=True,
                        augmentations=[SyntheticReverb(), BandLimit()])
    wavs, lengths = torch.randn(4, RATE), torch.tensor([1.0, 0.9, 0.8, 0.5])
    out, out_lengths = augment(wavs, lengths)
    assert out.shape == wavs.shape and torch.equal(out_lengths, lengths)
    assert float(out[3, RATE // 2:].abs().sum()) == 0.0
