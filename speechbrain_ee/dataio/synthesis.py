"""Speech synthesis and perturbation for the built-in corpora.

``synthesize`` and ``synthesize_many`` run an offline text-to-speech engine
(espeak-ng, flite, or festival, whose share of a batch runs in one process)
and return 16 kHz float32 waveforms. ``espeak_voices`` and ``base_voices``
build inventories of distinct speaker profiles (accent x variant x pitch x
rate x vocal-tract warp). The perturbations (speed, additive white or
coloured noise at a given SNR, band-limiting, reverberation, gain) at a named
severity (``SEVERITIES``) give recording conditions; every random choice
comes from a ``numpy.random.Generator`` passed in.

Authors
-------
* speechbrain-ee contributors 2026
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
INSTALL_HINT = "Install the speech engines with `bash tools/install.sh`."

ESPEAK_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
)
ACCENT_NAMES = {
    "en-us": "United States English",
    "en-gb": "England English",
    "en-gb-scotland": "Scottish English",
    "en-gb-x-gbclan": "Northern English (Lancashire)",
    "en-gb-x-rp": "England English (Received Pronunciation)",
    "en-gb-x-gbcwmd": "West Midlands English",
    "en-029": "Caribbean English",
    "awb": "Scottish English",
}
# espeak-ng voice variants (voices/!v) that sound like speech; robotic,
# whispered and other special-effect variants are left out.
ESPEAK_FEMALE_VARIANTS = (
    "f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda grandma linda "
    "steph steph2 steph3"
).split()
ESPEAK_MALE_VARIANTS = (
    "m1 m2 m3 m4 m5 m6 m7 m8 Alex Andy AnxiousAndy Denis Diogo Gene Gene2 "
    "Henrique Hugo Jacky Lee Marco Mario Michael Mike Nguyen RicishayMax "
    "RicishayMax2 RicishayMax3 Storm adam announcer antonio benjamin boris "
    "caleb david ed edward edward2 gustave grandpa iven iven2 iven3 iven4 "
    "john kaukovalta klatt klatt2 klatt3 klatt4 klatt5 klatt6 marcelo max "
    "michel miguel norbert pablo paul pedro quincy rob robert sandro shelby "
    "travis victor zac"
).split()
# flite voices: name -> gender (awb_time is a talking clock and is left out).
FLITE_VOICES = {"kal": "male", "kal16": "male", "awb": "male", "rms": "male", "slt": "female"}
# festival voices (Debian: festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts).
FESTIVAL_VOICES = {"kal_diphone": "male", "ked_diphone": "male",
                   "cmu_us_slt_arctic_hts": "female"}
NOISE_COLORS = ("white", "pink", "brown")


@dataclass(frozen=True)
class Voice:
    """A speaker profile of a text-to-speech engine.

    Arguments
    ---------
    engine : str
        ``"espeak-ng"``, ``"flite"`` or ``"festival"``.
    name : str
        espeak-ng language/accent (``"en-gb-x-rp"``), flite voice
        (``"slt"``) or festival voice (``"kal_diphone"``).
    variant : str
        espeak-ng voice variant (``"f3"``, ``"m2"``); ignored by the others.
    pitch : int
        espeak-ng: base pitch 0-99 (50 is the default). flite and
        festival's diphone voices: target mean F0 in Hz (0 keeps the
        voice's own; festival's HTS voice always keeps it).
    rate : float
        Speaking rate factor (1.0 = the engine's default; espeak-ng speaks
        at ``175 * rate`` words per minute, flite and festival stretch
        durations by ``1 / rate``).
    word_gap : int
        espeak-ng extra pause between words, in units of 10 ms.
    warp : float
        Resampling factor applied after synthesis, shifting pitch and
        formants together (a crude vocal-tract-length change); 1.0 = none.
    gender : str
        ``"male"`` or ``"female"``.

    Example
    -------
    >>> voice = Voice("espeak-ng", "en-gb", "f3", pitch=60, rate=0.9)
    >>> voice.voice_id
    'espeak-ng:en-gb+f3:p60:r0.90:g0:w1.000'
    """

    engine: str = "espeak-ng"
    name: str = "en-us"
    variant: str = ""
    pitch: int = 50
    rate: float = 1.0
    word_gap: int = 0
    warp: float = 1.0
    gender: str = "male"

    @property
    def voice_id(self):
        """A string that identifies the profile."""
        name = f"{self.name}+{self.variant}" if self.variant else self.name
        return (
            f"{self.engine}:{name}:p{self.pitch}:r{self.rate:.2f}:g{self.word_gap}"
            f":w{self.warp:.3f}"
        )

    @property
    def accent(self):
        """A Common Voice style accent description."""
        return ACCENT_NAMES.get(self.name, "United States English")

    def client_id(self, salt=""):
        """A Common Voice style client id: a hex hash of the profile.

        Arguments
        ---------
        salt : str
            Mixed into the hash (e.g. the corpus seed).

        Returns
        -------
        str
            128 hex digits.

        Example
        -------
        >>> len(Voice().client_id("1"))
        128
        """
        return hashlib.sha512(f"{salt}:{self.voice_id}".encode()).hexdigest()

    def command(self, text, wav_path=None):
        """The engine's command line that reads ``text``.

        Arguments
        ---------
        text : str
            What to say (espeak-ng reads it from stdin).
        wav_path : str or None
            Output file for flite (espeak-ng writes to stdout).

        Returns
        -------
        list of str
            The command.

        Example
        -------
        >>> " ".join(Voice("espeak-ng", "en-us", "m3", 40, 1.1).command("hi"))
        'espeak-ng --stdout -v en-us+m3 -p 40 -s 193 -g 0 -a 35 -z --stdin'
        >>> " ".join(Voice("flite", "slt", pitch=180).command("hi", "o.wav"))[24:]
        'duration_stretch=1.000 --setf int_f0_target_mean=180 -t hi -o o.wav'
        """
        if self.engine == "espeak-ng":
            name = f"{self.name}+{self.variant}" if self.variant else self.name
            return [
                "espeak-ng", "--stdout", "-v", name, "-p", str(int(self.pitch)),
                "-s", str(round(175 * self.rate)), "-g", str(int(self.word_gap)),
                "-a", "35", "-z", "--stdin",
            ]  # fmt: skip
        if self.engine == "flite":
            cmd = ["flite", "-voice", self.name, "--setf", f"duration_stretch={1 / self.rate:.3f}"]
            if self.pitch:
                cmd += ["--setf", f"int_f0_target_mean={int(self.pitch)}"]
            return cmd + ["-t", text, "-o", wav_path]
        if self.engine == "festival":
            raise ValueError("festival reads a script: see Voice.festival_commands and "
                             "run_festival.")
        raise ValueError(
            f"Unknown engine {self.engine!r}: use 'espeak-ng', 'flite' or 'festival'.")

    def festival_commands(self, text, wav_path):
        """The festival (Scheme) commands that read ``text`` into
        ``wav_path`` with this profile: the voice (selected again, so no
        setting carries over from the utterance before), the duration
        stretch and, for the diphone voices, the target mean F0.

        Arguments
        ---------
        text : str
            What to say.
        wav_path : str
            Output RIFF file.

        Returns
        -------
        str
            Scheme commands, one per line.

        Example
        -------
        >>> print(Voice("festival", "cmu_us_slt_arctic_hts", rate=0.8).festival_commands(
        ...     'Say "hi".', "o.wav"))
        (voice_cmu_us_slt_arctic_hts)
        (Parameter.set 'Duration_Stretch 1.250)
        (utt.save.wave (utt.synth (Utterance Text "Say \\"hi\\".")) "o.wav" 'riff)
        """
        lines = [f"(voice_{self.name})",
                 f"(Parameter.set 'Duration_Stretch {1 / self.rate:.3f})"]
        if self.pitch and self.name.endswith("_diphone"):
            if not 60 <= self.pitch <= 400:
                # festival aborts (double free) on very low targets.
                raise ValueError(f"{self.voice_id}: a festival voice's pitch is a mean F0 "
                                 "in Hz (60-400), or 0 for the voice's own.")
            # The diphone voices' linear-regression intonation model.
            lines.append(f"(set! int_lr_params '((target_f0_mean {int(self.pitch)}) "
                         "(target_f0_std 20) (model_f0_mean 170) (model_f0_std 34)))")
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{wav_path}" \'riff)')
        return "\n".join(lines)


def check_engine(engine):
    """Raises a clear error when a speech engine is not installed.

    Arguments
    ---------
    engine : str
        ``"espeak-ng"``, ``"flite"`` or ``"festival"``.

    Example
    -------
    >>> check_engine("espeak-ng")
    """
    if shutil.which(engine) is None:
        raise RuntimeError(f"The speech engine '{engine}' is not installed. {INSTALL_HINT}")


def parse_wav(data):
    """Decodes 16-bit PCM WAV bytes (tolerating the bogus sizes of a stream).

    Arguments
    ---------
    data : bytes
        A RIFF/WAVE file as written by espeak-ng or flite.

    Returns
    -------
    tuple
        ``(samples, sample_rate)``: mono float32 in [-1, 1] and an int.

    Example
    -------
    >>> import io, wave
    >>> buf = io.BytesIO()
    >>> with wave.open(buf, "wb") as w:
    ...     w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    ...     w.writeframes(np.array([0, 16384], dtype="<i2").tobytes())
    >>> parse_wav(buf.getvalue())
    (array([0. , 0.5], dtype=float32), 8000)
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("Not a RIFF/WAVE stream.")
    pos, rate, channels, bits = 12, None, 1, 16
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
        elif chunk == b"data":
            if rate is None or bits != 16:
                raise ValueError("Only 16-bit PCM WAV is supported.")
            payload = data[body : min(len(data), body + size)]
            payload = payload[: len(payload) // (2 * channels) * 2 * channels]
            samples = np.frombuffer(payload, dtype="<i2").reshape(-1, channels)
            return (samples.mean(axis=1) / 32768.0).astype(np.float32), rate
        pos = body + size + (size & 1)
    raise ValueError("No data chunk in the WAV stream.")


def resample(samples, orig_rate, new_rate):
    """Resamples with a polyphase filter (``scipy.signal.resample_poly``).

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    orig_rate : float
        Its sample rate (need not be an integer).
    new_rate : float
        The target rate.

    Returns
    -------
    numpy.ndarray
        float32 samples at ``new_rate``.

    Example
    -------
    >>> resample(np.zeros(22050, dtype="float32"), 22050, 16000).shape
    (16000,)
    """
    ratio = Fraction(new_rate / orig_rate).limit_denominator(1000)
    if ratio == 1:
        return samples.astype(np.float32)
    out = signal.resample_poly(samples, ratio.numerator, ratio.denominator)
    return out.astype(np.float32)


def run_engine(voice, text):
    """Runs the voice's engine and returns its raw output.

    Arguments
    ---------
    voice : Voice
        The speaker profile.
    text : str
        What to say.

    Returns
    -------
    tuple
        ``(samples, sample_rate)`` at the engine's own rate.

    Example
    -------
    >>> x, rate = run_engine(Voice(), "Hello.")
    >>> rate, x.dtype
    (22050, dtype('float32'))
    """
    check_engine(voice.engine)
    if voice.engine == "festival":
        return run_festival([(voice, text)])[0]
    with tempfile.TemporaryDirectory(prefix="sbee_tts_") as tmp:
        wav_path = os.path.join(tmp, "out.wav")
        cmd = voice.command(text, wav_path)
        stdin = text.encode("utf-8") if voice.engine == "espeak-ng" else None
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as err:
            raise RuntimeError(f"Command failed: {' '.join(cmd)}: {err}. {INSTALL_HINT}") from err
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            raise RuntimeError(
                f"Command failed (exit {proc.returncode}): {' '.join(cmd)}\n{stderr}\n"
                f"{INSTALL_HINT}"
            )
        if voice.engine == "espeak-ng":
            data = proc.stdout
        else:
            data = open(wav_path, "rb").read() if os.path.exists(wav_path) else b""
    try:
        samples, rate = parse_wav(data)
    except ValueError as err:
        raise RuntimeError(f"No audio from: {' '.join(cmd)}\n{stderr}\n{err}") from err
    if samples.size == 0:
        raise RuntimeError(f"Empty audio from: {' '.join(cmd)}\n{stderr}")
    return samples, rate


def run_festival(requests):
    """Reads several texts with festival in one process (its start-up is
    most of the time of a short utterance).

    Arguments
    ---------
    requests : list of (Voice, str)
        Festival profiles and what they say.

    Returns
    -------
    list of tuple
        ``(samples, sample_rate)`` per request, at festival's own rate.

    Example
    -------
    >>> kal, slow = (Voice("festival", "kal_diphone", pitch=110, rate=r) for r in (1, 0.5))
    >>> out = run_festival([(kal, "Hello."), (slow, "Hello.")])
    >>> out[0][1], len(out[1][0]) > 1.5 * len(out[0][0])
    (16000, True)
    """
    check_engine("festival")
    with tempfile.TemporaryDirectory(prefix="sbee_tts_") as tmp:
        paths = [os.path.join(tmp, f"{i}.wav") for i in range(len(requests))]
        script = os.path.join(tmp, "read.scm")
        with open(script, "w", encoding="utf-8") as f:
            for (voice, text), path in zip(requests, paths):
                f.write(voice.festival_commands(text, path) + "\n")
        cmd = ["festival", "-b", script]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=120 + 10 * len(requests))
        except (OSError, subprocess.SubprocessError) as err:
            raise RuntimeError(f"Command failed: {' '.join(cmd)}: {err}. {INSTALL_HINT}") from err
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        out = []
        for (voice, text), path in zip(requests, paths):
            try:
                with open(path, "rb") as f:
                    out.append(parse_wav(f.read()))
            except (OSError, ValueError) as err:
                raise RuntimeError(
                    f"festival gave no audio for {voice.voice_id} reading {text!r} "
                    f"(exit {proc.returncode}): {stderr or err}. {INSTALL_HINT}") from err
    return out


def synthesize_many(requests, sample_rate=SAMPLE_RATE):
    """Reads several texts aloud; festival's share in one process.

    Arguments
    ---------
    requests : list of (Voice, str)
        Speaker profiles (their ``warp`` is applied by resampling) and
        what they say.
    sample_rate : int
        Output sample rate.

    Returns
    -------
    list of numpy.ndarray
        Mono float32 samples at ``sample_rate``, one per request.

    Example
    -------
    >>> out = synthesize_many([(Voice(), "Hi."), (Voice("festival", "ked_diphone", pitch=0), "Hi.")])
    >>> [x.dtype.name for x in out]
    ['float32', 'float32']
    """
    festival = [i for i, (voice, _) in enumerate(requests) if voice.engine == "festival"]
    raw = dict(zip(festival, run_festival([requests[i] for i in festival]) if festival else []))
    out = []
    for i, (voice, text) in enumerate(requests):
        samples, rate = raw[i] if i in raw else run_engine(voice, text)
        out.append(resample(samples, rate * voice.warp, sample_rate))
    return out


def synthesize(voice, text, sample_rate=SAMPLE_RATE):
    """Reads ``text`` aloud with a voice.

    Arguments
    ---------
    voice : Voice
        The speaker profile (its ``warp`` is applied by resampling).
    text : str
        What to say.
    sample_rate : int
        Output sample rate.

    Returns
    -------
    tuple
        ``(samples, sample_rate)``: mono float32 numpy array and its rate.

    Example
    -------
    >>> x, rate = synthesize(Voice("espeak-ng", "en-gb", "f2"), "Good morning.")
    >>> rate, x.dtype, 0.3 < len(x) / rate < 3
    (16000, dtype('float32'), True)
    """
    return synthesize_many([(voice, text)], sample_rate)[0], sample_rate


# ---------------------------------------------------------------------------
# Perturbations
# ---------------------------------------------------------------------------
def change_speed(samples, factor):
    """Speeds a signal up (``factor`` > 1) or down by resampling.

    Pitch moves with the tempo, as in Kaldi-style speed perturbation.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    factor : float
        Speed factor.

    Returns
    -------
    numpy.ndarray
        The signal, ``len / factor`` samples long.

    Example
    -------
    >>> change_speed(np.zeros(16000, dtype="float32"), 1.25).shape
    (12800,)
    """
    return resample(samples, factor, 1.0)


def apply_gain(samples, gain_db):
    """Scales a signal by ``gain_db`` decibels.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    gain_db : float
        Gain in dB.

    Returns
    -------
    numpy.ndarray
        The scaled signal.

    Example
    -------
    >>> apply_gain(np.ones(2, dtype="float32"), -20.0)
    array([0.1, 0.1], dtype=float32)
    """
    return (samples * np.float32(10 ** (gain_db / 20))).astype(np.float32)


def normalize_peak(samples, peak=0.9):
    """Scales a signal so that its largest absolute sample is ``peak``.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    peak : float
        Target peak.

    Returns
    -------
    numpy.ndarray
        The scaled signal (unchanged if silent).

    Example
    -------
    >>> normalize_peak(np.array([0.1, -0.2], dtype="float32"), 0.5)
    array([ 0.25, -0.5 ], dtype=float32)
    """
    top = float(np.max(np.abs(samples))) if samples.size else 0.0
    if top == 0:
        return samples.astype(np.float32)
    return (samples * (peak / top)).astype(np.float32)


def colored_noise(num_samples, rng, color="white"):
    """Gaussian noise with a white, pink (1/f) or brown (1/f^2) spectrum.

    Arguments
    ---------
    num_samples : int
        Length.
    rng : numpy.random.Generator
        Random generator.
    color : str
        ``"white"``, ``"pink"`` or ``"brown"``.

    Returns
    -------
    numpy.ndarray
        float32 noise with unit variance.

    Example
    -------
    >>> n = colored_noise(16000, np.random.default_rng(0), "pink")
    >>> n.shape, round(float(n.std()), 2)
    ((16000,), 1.0)
    """
    white = rng.standard_normal(num_samples)
    if color != "white":
        exponent = {"pink": 0.5, "brown": 1.0}[color]
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        white = np.fft.irfft(spectrum / freqs**exponent, n=num_samples)
    return (white / (white.std() + 1e-12)).astype(np.float32)


def add_noise(samples, snr_db, rng, color="white"):
    """Adds noise at a signal-to-noise ratio.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    snr_db : float
        Signal-to-noise ratio in dB (signal power over the whole clip).
    rng : numpy.random.Generator
        Random generator.
    color : str
        ``"white"``, ``"pink"`` or ``"brown"``.

    Returns
    -------
    numpy.ndarray
        The noisy signal.

    Example
    -------
    >>> x = np.sin(np.arange(16000) / 5).astype("float32")
    >>> y = add_noise(x, 10.0, np.random.default_rng(0))
    >>> round(10 * np.log10((x ** 2).mean() / ((y - x) ** 2).mean()))
    10
    """
    power = float(np.mean(samples.astype(np.float64) ** 2))
    noise = colored_noise(len(samples), rng, color)
    return (samples + noise * np.sqrt(power / 10 ** (snr_db / 10))).astype(np.float32)


def band_limit(samples, sample_rate, low_hz=None, high_hz=None, order=6):
    """Band-pass, low-pass or high-pass filters a signal (Butterworth).

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    sample_rate : int
        Its rate.
    low_hz : float or None
        Lower cut-off (None: no high-pass).
    high_hz : float or None
        Upper cut-off (None: no low-pass).
    order : int
        Filter order.

    Returns
    -------
    numpy.ndarray
        The filtered signal.

    Example
    -------
    >>> rate = 16000
    >>> tone = np.sin(2 * np.pi * 6000 * np.arange(rate) / rate).astype("float32")
    >>> float(np.abs(band_limit(tone, rate, 300, 3400)[1000:]).max()) < 0.01
    True
    """
    if low_hz and high_hz:
        sos = signal.butter(order, [low_hz, high_hz], "bandpass", fs=sample_rate, output="sos")
    elif high_hz:
        sos = signal.butter(order, high_hz, "lowpass", fs=sample_rate, output="sos")
    elif low_hz:
        sos = signal.butter(order, low_hz, "highpass", fs=sample_rate, output="sos")
    else:
        return samples.astype(np.float32)
    return signal.sosfilt(sos, samples).astype(np.float32)


def telephone(samples, sample_rate):
    """Telephone channel: 300-3400 Hz band-pass.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    sample_rate : int
        Its rate.

    Returns
    -------
    numpy.ndarray
        The filtered signal.

    Example
    -------
    >>> telephone(np.zeros(100, dtype="float32"), 16000).shape
    (100,)
    """
    return band_limit(samples, sample_rate, 300.0, 3400.0)


def reverberate(samples, sample_rate, rt60, rng, wet=0.5):
    """Adds synthetic room reverberation (exponentially decaying noise).

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    sample_rate : int
        Its rate.
    rt60 : float
        Reverberation time in seconds (60 dB decay).
    rng : numpy.random.Generator
        Random generator.
    wet : float
        Level of the reverberant tail relative to the direct sound.

    Returns
    -------
    numpy.ndarray
        The reverberant signal, same length.

    Example
    -------
    >>> x = np.zeros(1600, dtype="float32"); x[0] = 1
    >>> y = reverberate(x, 16000, 0.3, np.random.default_rng(0))
    >>> y.shape, float(np.abs(y[800:]).max()) > 0
    ((1600,), True)
    """
    length = max(1, int(rt60 * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.908 * t / rt60)
    tail[: int(0.005 * sample_rate)] = 0.0
    rir = wet * tail / (np.sqrt(np.sum(tail**2)) + 1e-12)
    rir[0] = 1.0
    out = signal.fftconvolve(samples, rir)[: len(samples)]
    return normalize_peak(out, float(np.max(np.abs(samples))) or 1.0)


@dataclass(frozen=True)
class Perturbation:
    """A recipe of perturbations for one clip (all optional).

    Arguments
    ---------
    speed : float
        Speed factor (1.0: none).
    band : str
        ``""``, ``"telephone"`` (300-3400 Hz) or ``"lowpass4k"``.
    rt60 : float
        Reverberation time in seconds (0: none).
    noise_color : str
        ``""`` (none), ``"white"``, ``"pink"`` or ``"brown"``.
    snr_db : float
        Signal-to-noise ratio of the noise.
    gain_db : float
        Final peak level in dB relative to full scale.

    Example
    -------
    >>> Perturbation(speed=1.1, noise_color="pink", snr_db=12).describe()
    'speed=1.10 noise=pink@12dB gain=-3dB'
    """

    speed: float = 1.0
    band: str = ""
    rt60: float = 0.0
    noise_color: str = ""
    snr_db: float = 30.0
    gain_db: float = -3.0

    def describe(self):
        """A short human-readable description."""
        parts = []
        if self.speed != 1.0:
            parts.append(f"speed={self.speed:.2f}")
        if self.band:
            parts.append(f"band={self.band}")
        if self.rt60:
            parts.append(f"rt60={self.rt60:.2f}s")
        if self.noise_color:
            parts.append(f"noise={self.noise_color}@{self.snr_db:.0f}dB")
        parts.append(f"gain={self.gain_db:.0f}dB")
        return " ".join(parts)

    def apply(self, samples, sample_rate, rng):
        """Applies the perturbations in a fixed order.

        Order: speed, reverberation, band-limiting, noise, gain.

        Arguments
        ---------
        samples : numpy.ndarray
            Mono signal.
        sample_rate : int
            Its rate.
        rng : numpy.random.Generator
            Random generator (noise and reverberation).

        Returns
        -------
        numpy.ndarray
            The perturbed signal.

        Example
        -------
        >>> x = np.random.default_rng(0).standard_normal(16000).astype("float32")
        >>> p = Perturbation(speed=0.8, band="telephone", noise_color="white", snr_db=5)
        >>> p.apply(x, 16000, np.random.default_rng(1)).shape
        (20000,)
        """
        if self.speed != 1.0:
            samples = change_speed(samples, self.speed)
        if self.rt60 > 0:
            samples = reverberate(samples, sample_rate, self.rt60, rng)
        if self.band == "telephone":
            samples = telephone(samples, sample_rate)
        elif self.band == "lowpass4k":
            samples = band_limit(samples, sample_rate, high_hz=4000.0)
        elif self.band:
            raise ValueError(f"Unknown band {self.band!r}")
        if self.noise_color:
            samples = add_noise(samples, self.snr_db, rng, self.noise_color)
        return normalize_peak(samples, 10 ** (self.gain_db / 20))


@dataclass(frozen=True)
class Conditions:
    """How often and how strongly each recording condition is drawn (see
    `random_perturbation`; the named levels are in ``SEVERITIES``).

    Arguments
    ---------
    clean_share : float
        Share of clips left clean (only their level changes).
    speed_share : float
        Share of the others with a speed change in ``speed_range``.
    speed_range : tuple
        Speed factors.
    reverb_share : float
        Share with reverberation, RT60 in ``rt60_range`` seconds.
    rt60_range : tuple
        Reverberation times.
    telephone_share : float
        Share band-limited to the telephone band (300-3400 Hz).
    lowpass_share : float
        Share low-passed at 4 kHz.
    noise_share : float
        Share with white, pink or brown noise at an SNR in ``snr_range``.
    snr_range : tuple
        Signal-to-noise ratios in dB.
    gain_range : tuple
        Peak level in dBFS.

    Example
    -------
    >>> SEVERITIES["moderate"].snr_range
    (10.0, 30.0)
    """

    clean_share: float
    speed_share: float
    speed_range: tuple
    reverb_share: float
    rt60_range: tuple
    telephone_share: float
    lowpass_share: float
    noise_share: float
    snr_range: tuple
    gain_range: tuple = (-20.0, -1.0)


# Recording conditions by severity: "mild" for the perturbed share of the
# training set, "moderate" for the out-of-distribution test (default),
# "severe" for a harder one (the conditions of the first built-in corpus).
SEVERITIES = {
    "mild": Conditions(0.0, 0.0, (1.0, 1.0), 0.25, (0.1, 0.4), 0.0, 0.1, 0.75, (20.0, 40.0)),
    "moderate": Conditions(1 / 6, 0.4, (0.9, 1.1), 0.3, (0.2, 0.6), 0.15, 0.1, 0.7,
                           (10.0, 30.0)),
    "severe": Conditions(1 / 6, 0.5, (0.85, 1.15), 0.3, (0.2, 0.7), 0.25, 0.15, 0.75,
                         (5.0, 25.0)),
}


def random_perturbation(rng, severity="severe"):
    """Draws a perturbation recipe for one clip at a named severity.

    Each condition is drawn independently with the probabilities and
    ranges of ``SEVERITIES[severity]`` (see `Conditions`); "severe": about
    one clip in six stays clean, the others get a speed change (0.85-1.15,
    half of them), reverberation, telephone or 4 kHz band-limiting, and
    white/pink/brown noise at 5-25 dB SNR; the level varies from -20 to -1
    dBFS.

    Arguments
    ---------
    rng : numpy.random.Generator
        Random generator.
    severity : str
        ``"mild"``, ``"moderate"`` or ``"severe"``.

    Returns
    -------
    Perturbation
        The recipe.

    Example
    -------
    >>> p = random_perturbation(np.random.default_rng(0))
    >>> isinstance(p, Perturbation)
    True
    >>> random_perturbation(np.random.default_rng(0), "mild").speed
    1.0
    """
    if severity not in SEVERITIES:
        raise ValueError(f"Unknown severity {severity!r}: use one of {sorted(SEVERITIES)}.")
    c = SEVERITIES[severity]
    gain_db = float(rng.uniform(*c.gain_range))
    if rng.random() < c.clean_share:
        return Perturbation(gain_db=gain_db)
    speed = float(rng.uniform(*c.speed_range)) if rng.random() < c.speed_share else 1.0
    rt60 = float(rng.uniform(*c.rt60_range)) if rng.random() < c.reverb_share else 0.0
    roll = rng.random()
    band = ("telephone" if roll < c.telephone_share
            else "lowpass4k" if roll < c.telephone_share + c.lowpass_share else "")
    noise = rng.random() < c.noise_share
    color = str(rng.choice(NOISE_COLORS)) if noise else ""
    snr_db = float(rng.uniform(*c.snr_range)) if noise else 30.0
    return Perturbation(speed, band, rt60, color, snr_db, gain_db)


def add_silence(samples, sample_rate, lead_s, trail_s):
    """Pads a signal with silence.

    Arguments
    ---------
    samples : numpy.ndarray
        Mono signal.
    sample_rate : int
        Its rate.
    lead_s : float
        Seconds before.
    trail_s : float
        Seconds after.

    Returns
    -------
    numpy.ndarray
        The padded signal.

    Example
    -------
    >>> add_silence(np.ones(10, dtype="float32"), 100, 0.1, 0.05).shape
    (25,)
    """
    lead, trail = int(round(lead_s * sample_rate)), int(round(trail_s * sample_rate))
    return np.pad(samples, (lead, trail)).astype(np.float32)


# ---------------------------------------------------------------------------
# Voice inventories
# ---------------------------------------------------------------------------
def espeak_voices(num_voices, seed=0, accents=ESPEAK_ACCENTS, variants=None,
                  pitch_range=(35, 65), rate_range=(0.82, 1.12), warp_range=(0.94, 1.06),
                  female_share=0.4):
    """Distinct espeak-ng speaker profiles: accent x variant x pitch x rate.

    Each profile uses a distinct (accent, variant) pair; pitch, rate, word
    gap and vocal-tract warp are drawn at random. Passing disjoint
    ``variants`` gives disjoint voices (e.g. for train and test speakers).

    Arguments
    ---------
    num_voices : int
        How many profiles.
    seed : int or sequence of int
        Seed of the random generator.
    accents : sequence of str
        espeak-ng English voices.
    variants : sequence of str or None
        Variants to use (default: all speech-like ones).
    pitch_range : tuple
        Range of the espeak-ng pitch (0-99).
    rate_range : tuple
        Range of the rate factor.
    warp_range : tuple
        Range of the vocal-tract warp.
    female_share : float
        Fraction of profiles drawn from female variants (when available).

    Returns
    -------
    list of Voice
        ``num_voices`` profiles.

    Example
    -------
    >>> voices = espeak_voices(10, seed=1)
    >>> len({(v.name, v.variant) for v in voices}), voices == espeak_voices(10, seed=1)
    (10, True)
    """
    rng = np.random.default_rng(seed)
    variants = list(variants or ESPEAK_FEMALE_VARIANTS + ESPEAK_MALE_VARIANTS)
    pools = {
        "female": [(a, v) for v in variants if v in ESPEAK_FEMALE_VARIANTS for a in accents],
        "male": [(a, v) for v in variants if v not in ESPEAK_FEMALE_VARIANTS for a in accents],
    }
    if len(pools["female"]) + len(pools["male"]) < num_voices:
        raise ValueError(
            f"Only {len(variants) * len(accents)} accent/variant pairs for {num_voices} voices."
        )
    num_female = min(len(pools["female"]), int(round(female_share * num_voices)))
    num_female = max(num_female, num_voices - len(pools["male"]))
    voices = []
    for gender, count in (("female", num_female), ("male", num_voices - num_female)):
        pairs = _spread(pools[gender], count, rng)
        for accent, variant in pairs:
            voices.append(
                Voice(
                    engine="espeak-ng",
                    name=accent,
                    variant=variant,
                    pitch=int(rng.integers(pitch_range[0], pitch_range[1] + 1)),
                    rate=round(float(rng.uniform(*rate_range)), 2),
                    word_gap=int(rng.choice([0, 0, 0, 1, 2])),
                    warp=round(float(rng.uniform(*warp_range)), 3),
                    gender=gender,
                )
            )
    order = rng.permutation(len(voices))
    return [voices[i] for i in order]


def _spread(pairs, count, rng):
    """Picks ``count`` (accent, variant) pairs, covering many variants first."""
    order = rng.permutation(len(pairs))
    chosen, used_variants = [], set()
    for i in order:  # first pass: one pair per variant
        if len(chosen) < count and pairs[i][1] not in used_variants:
            chosen.append(pairs[i])
            used_variants.add(pairs[i][1])
    for i in order:  # second pass: more accents of the same variants
        if len(chosen) < count and pairs[i] not in chosen:
            chosen.append(pairs[i])
    return chosen


def base_voices(engine, voices, num_voices, seed=0, rate_range=(0.85, 1.15),
                male_f0=(85, 140), female_f0=(150, 220), warp_range=(0.95, 1.05)):
    """Speaker profiles of an engine with a few fixed voices (flite,
    festival): the base voices in turn, each with its own duration
    stretch, mean F0 and vocal-tract warp.

    Arguments
    ---------
    engine : str
        ``"flite"`` or ``"festival"``.
    voices : dict
        Base voice name -> gender, in the order they are used.
    num_voices : int
        How many profiles.
    seed : int or sequence of int
        Seed of the random generator.
    rate_range : tuple
        Range of the rate factor (``duration_stretch = 1 / rate``).
    male_f0 : tuple
        Range of the target mean F0 (Hz) of male voices.
    female_f0 : tuple
        The same for female voices.
    warp_range : tuple
        Range of the vocal-tract warp.

    Returns
    -------
    list of Voice
        ``num_voices`` profiles.

    Example
    -------
    >>> [v.name for v in base_voices("festival", FESTIVAL_VOICES, 4)]
    ['kal_diphone', 'ked_diphone', 'cmu_us_slt_arctic_hts', 'kal_diphone']
    """
    rng = np.random.default_rng(seed)
    names = list(voices)
    profiles = []
    for i in range(num_voices):
        name = names[i % len(names)]
        gender = voices[name]
        f0 = female_f0 if gender == "female" else male_f0
        profiles.append(
            Voice(
                engine=engine,
                name=name,
                pitch=int(rng.integers(f0[0], f0[1] + 1)),
                rate=round(float(rng.uniform(*rate_range)), 2),
                warp=round(float(rng.uniform(*warp_range)), 3),
                gender=gender,
            )
        )
    return profiles
