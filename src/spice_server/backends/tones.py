"""Little sounds and a level meter, with numpy: what the demo plays and how loud the mic is."""

from __future__ import annotations

import numpy as np

# A pentatonic scale over two octaves: any sequence of keys sounds tolerable.
SCALE_HZ = tuple(261.63 * 2 ** (step / 12) for step in (0, 2, 4, 7, 9, 12, 14, 16, 19, 21))
FADE_SECONDS = 0.005  # a hard edge on a sine clicks; a few ms of fade does not


def beep(hz: float, seconds: float, rate: int, level: float = 0.3) -> np.ndarray:
    """A stereo sine of ``hz`` with faded edges, as int16 of shape (n, 2)."""
    n = int(seconds * rate)
    wave = np.sin(2 * np.pi * hz * np.arange(n) / rate) * level * 32767
    fade = min(n // 2, int(FADE_SECONDS * rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[n - fade :] *= ramp[::-1]
    return np.repeat(np.round(wave).astype(np.int16)[:, None], 2, axis=1)


def note(index: int) -> float:
    """The frequency for a key or button number: the scale, wrapped."""
    return SCALE_HZ[index % len(SCALE_HZ)]


def level(pcm: bytes) -> float:
    """How loud 16-bit PCM is, 0 (silence) to 1 (full scale), on a 60 dB meter scale."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if not samples.size:
        return 0.0
    rms = np.sqrt(np.mean(samples**2)) / 32768
    if rms <= 1e-3:
        return 0.0
    return float(min(1.0, 1 + np.log10(rms) / 3))
