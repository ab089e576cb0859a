"""A synthesized house groove for the demo and tests: a four-on-the-floor kick, a clap on 2
and 4, off-beat hats, an off-beat bass and a saw-chord pad ducked under the kick.

Generated, not recorded, so it ships in no file and needs no audio device. It is made to be
electronic music, and the shipped model must hear it so (tests/test_tag_model.py): an
earlier, sparser groove of pure tones was heard as classical, then as not music at all.
"""

from __future__ import annotations

import numpy as np


def demo_clip(seconds: float = 12.0, sample_rate: int = 44_100, seed: int = 7) -> tuple[np.ndarray, int]:
    """A stereo float32 clip at 124 BPM peaking near -3 dBFS, and its sample rate."""
    from scipy import signal  # slow to import: only the demo and tests need it

    def filtered(kind: str, hz, x: np.ndarray, order: int = 2) -> np.ndarray:
        return signal.sosfilt(signal.butter(order, hz, kind, fs=sample_rate, output="sos"), x)

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    beat = 60.0 / 124.0
    since_beat = t % beat
    since_offbeat = (t + beat / 2) % beat
    noise = rng.standard_normal(len(t))
    top = 0.4 * sample_rate  # every band stays below Nyquist at low rates
    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-since_beat * 35)) * since_beat) * np.exp(-since_beat * 7)
    hats = filtered("highpass", min(8000.0, top), noise, 4) * np.exp(-since_offbeat * 18)
    clap = filtered("bandpass", (900.0, min(5000.0, top)), noise) * np.where(
        (t // beat).astype(int) % 2 == 1, np.exp(-since_beat * 18), 0.0)
    roots = np.array([55.0, 55.0, 43.65, 49.0])[(t // (4 * beat)).astype(int) % 4]  # A1 A1 F1 G1, a bar each
    bass = filtered("lowpass", 400.0, signal.sawtooth(2 * np.pi * roots * t) * np.exp(-since_offbeat * 6))
    chord = sum(signal.sawtooth(2 * np.pi * roots * 4 * ratio * (1 + 0.003 * k) * t)
                for k, ratio in enumerate((1.0, 1.19, 1.5, 1.78))) / 4  # a minor seventh, slightly detuned
    pad = filtered("lowpass", min(2500.0, top), chord) * (1 - 0.7 * np.exp(-since_beat * 8))  # ducked
    left = 0.9 * kick + 0.5 * bass + 0.3 * pad + 0.35 * clap + 0.15 * hats
    right = 0.9 * kick + 0.5 * bass + 0.27 * pad + 0.35 * clap + 0.18 * hats
    mix = np.stack([left, right], axis=1)
    mix *= 10 ** (-3 / 20) / np.max(np.abs(mix))
    return mix.astype(np.float32), sample_rate
