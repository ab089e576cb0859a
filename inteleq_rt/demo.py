"""A synthesized music clip (kick, bass, chords, hi-hats) for the demo and the tests.

Generated, not recorded, so it ships in no file and needs no audio device.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def demo_clip(seconds: float = 12.0, sample_rate: int = 44_100, seed: int = 7) -> tuple[np.ndarray, int]:
    """A stereo float32 clip at 100 BPM peaking near -3 dBFS, and its sample rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    beat = 60.0 / 100.0
    phase = (t % beat) / beat
    since_beat = t % beat
    kick = np.sin(2 * np.pi * (45 + 80 * np.exp(-since_beat * 30)) * since_beat) * np.exp(-since_beat * 8)
    roots = np.array([55.0, 55.0, 43.65, 49.0])  # A1 A1 F1 G1, one per bar
    bar = (t // (4 * beat)).astype(int) % len(roots)
    bass = 0.5 * signal.sawtooth(2 * np.pi * roots[bar] * t) * (0.6 + 0.4 * (phase < 0.5))
    bass = signal.sosfilt(signal.butter(2, 300, fs=sample_rate, output="sos"), bass)
    chord = sum(np.sin(2 * np.pi * roots[bar] * 4 * ratio * t) for ratio in (1.0, 1.26, 1.5))
    hats_hz = min(7000.0, 0.4 * sample_rate)  # the hats stay below Nyquist at low rates
    hats_noise = signal.sosfilt(signal.butter(4, hats_hz, "highpass", fs=sample_rate, output="sos"),
                                rng.standard_normal(len(t)))
    eighth = t % (beat / 2)
    hats = hats_noise * np.exp(-eighth * 60)
    left = 0.9 * kick + 0.6 * bass + 0.12 * chord + 0.25 * hats
    right = 0.9 * kick + 0.6 * bass + 0.10 * chord + 0.30 * hats
    mix = np.stack([left, right], axis=1)
    mix *= 10 ** (-3 / 20) / np.max(np.abs(mix))
    return mix.astype(np.float32), sample_rate
