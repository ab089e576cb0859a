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
    """Feed blocks of (frames, channels) in order; ``peak`` is the true peak so far (linear)."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        from scipy import signal  # slow to import: offline renders only

        self.factor = 4 if sample_rate < 96_000 else 2
        taps = signal.firwin(TAPS_PER_PHASE * self.factor, 0.9 / self.factor, window=("kaiser", 8.0))
        self._taps = (taps * self.factor / taps.sum()).astype(np.float64)
        self._history = np.zeros((TAPS_PER_PHASE - 1, channels))
        self._upfirdn = signal.upfirdn
        self.peak = 0.0

    def add(self, block: np.ndarray) -> None:
        if not len(block):
            return
        joined = np.concatenate([self._history, block.astype(np.float64)])
        # outputs whose every tap falls on samples present: from the first new sample on
        upsampled = self._upfirdn(self._taps, joined, up=self.factor, axis=0)
        start = len(self._history) * self.factor
        whole = upsampled[start : start + len(block) * self.factor]
        self.peak = max(self.peak, float(np.max(np.abs(whole))), float(np.max(np.abs(block))))
        self._history = joined[-len(self._history):]

    def dbtp(self) -> float:
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


def true_peak(audio: np.ndarray, sample_rate: int) -> float:
    """A whole signal's true peak (linear)."""
    meter = TruePeak(sample_rate, audio.shape[1])
    meter.add(audio)
    return meter.peak
