"""True peak (ITU-R BS.1770-4, Annex 2): the peak between samples that a listener's DAC (or a
decoder) reconstructs, measured on the signal oversampled 4x (2x from 96 kHz up).

A sample-peak ceiling lets the waveform between samples rise above it; lossy encoders add to
that. Offline renders report both, in dBFS and dBTP, and hold lossy outputs to the ceiling in
true peak after decoding (offline.py).
"""

from __future__ import annotations

import math

import numpy as np

# Taps per phase of the interpolating filter (BS.1770-4's example uses 12 per phase at 4x).
TAPS_PER_PHASE = 12


class TruePeak:
    """Feed blocks of (frames, channels) in order; ``peak`` is the true peak so far (linear).
    The interpolation is polyphase in numpy: scipy.signal took 0.7 s to import, in every render."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.factor = 4 if sample_rate < 96_000 else 2
        length = TAPS_PER_PHASE * self.factor  # a Kaiser-windowed sinc lowpass at 0.9 x the old Nyquist
        middle = np.arange(length) - (length - 1) / 2
        taps = np.sinc(0.9 / self.factor * middle) * np.kaiser(length, 8.0)
        taps *= self.factor / taps.sum()
        self._phases = [taps[phase :: self.factor][::-1].copy() for phase in range(self.factor)]
        self._history = np.zeros((TAPS_PER_PHASE - 1, channels))
        self.peak = 0.0

    def add(self, block: np.ndarray) -> None:
        if not len(block):
            return
        joined = np.concatenate([self._history, block.astype(np.float64)])
        # each phase of the 4x signal at every new sample, from taps on samples present only
        for channel in joined.T:
            for phase in self._phases:
                self.peak = max(self.peak, float(np.max(np.abs(np.correlate(channel, phase, "valid")))))
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        self._history = joined[-len(self._history):]

    def dbtp(self) -> float:
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


def true_peak(audio: np.ndarray, sample_rate: int) -> float:
    """A whole signal's true peak (linear)."""
    meter = TruePeak(sample_rate, audio.shape[1])
    meter.add(audio)
    return meter.peak
