"""A synthesized music clip (kick, snare, hi-hats, bass, a plucked arpeggio) for the demo and tests.

Generated, not recorded, so it ships in no file and needs no audio device.
"""

from __future__ import annotations

import numpy as np


def demo_clip(seconds: float = 12.0, sample_rate: int = 44_100, seed: int = 7) -> tuple[np.ndarray, int]:
    """A stereo float32 clip at 100 BPM peaking near -3 dBFS, and its sample rate."""
    from scipy import signal  # slow to import: only the demo and tests need it

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
    # a plucked arpeggio through each bar's chord, in eighth notes: harmonics that decay
    eighth = t % (beat / 2)
    arpeggio = np.array([1.0, 1.26, 1.5, 2.0, 1.5, 1.26])
    note = roots[bar] * 8 * arpeggio[(t // (beat / 2)).astype(int) % len(arpeggio)]
    pluck = sum(0.6**k * np.sin(2 * np.pi * note * (k + 1) * t) * np.exp(-eighth * (6 + 3 * k)) for k in range(6))
    # a snare on beats 2 and 4: a band of noise and a short 190 Hz body
    backbeat = np.where((t // beat).astype(int) % 2 == 1, np.exp(-since_beat * 25), 0.0)
    snare_noise = signal.sosfilt(signal.butter(2, (1000, min(6000.0, 0.4 * sample_rate)), "bandpass", fs=sample_rate,
                                               output="sos"), rng.standard_normal(len(t)))
    snare = (snare_noise + 0.3 * np.sin(2 * np.pi * 190 * since_beat)) * backbeat
    hats_hz = min(7000.0, 0.4 * sample_rate)  # the hats stay below Nyquist at low rates
    hats_noise = signal.sosfilt(signal.butter(4, hats_hz, "highpass", fs=sample_rate, output="sos"),
                                rng.standard_normal(len(t)))
    hats = hats_noise * np.exp(-eighth * 60)
    left = 0.9 * kick + 0.6 * bass + 0.25 * pluck + 0.5 * snare + 0.25 * hats
    right = 0.9 * kick + 0.6 * bass + 0.20 * pluck + 0.5 * snare + 0.30 * hats
    mix = np.stack([left, right], axis=1)
    mix *= 10 ** (-3 / 20) / np.max(np.abs(mix))
    return mix.astype(np.float32), sample_rate
