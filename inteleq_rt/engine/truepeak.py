"""True peak (ITU-R BS.1770-4, Annex 2): the peak between samples that a listener's DAC (or a
decoder) reconstructs, measured on the signal oversampled 4x (2x from 96 kHz up).

A sample-peak ceiling lets the waveform between samples rise above it; lossy encoders add to
that. Offline renders report both, in dBFS and dBTP, and hold lossy outputs to the ceiling in
true peak after decoding (offline.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import float64

from .jit import njit

# Taps per phase of the interpolating filter (BS.1770-4's example uses 12 per phase at 4x).
TAPS_PER_PHASE = 12


@njit(float64(float64[:, ::1], float64[:, ::1]), cache=True, nogil=True)
def _oversampled_peak(joined, phases):
    """The largest magnitude of ``joined`` (channels x the filter's history, then the block's
    frames) oversampled by the four rows of ``phases`` (each phase's taps, reversed), over
    the block's frames. The four phases accumulate side by side, so their sums do not wait
    on each other: numpy's correlate per phase and channel took a fifth of a render."""
    taps = phases.shape[1]
    first, second, third, fourth = phases[0], phases[1], phases[2], phases[3]
    peak = 0.0
    for c in range(joined.shape[0]):
        signal = joined[c]
        for n in range(joined.shape[1] - (taps - 1)):
            a = b = d = e = 0.0
            for k in range(taps):
                x = signal[n + k]
                a += first[k] * x
                b += second[k] * x
                d += third[k] * x
                e += fourth[k] * x
            peak = max(peak, abs(signal[n + taps - 1]), abs(a), abs(b), abs(d), abs(e))
    return peak


class TruePeak:
    """Feed blocks of (frames, channels) in order; ``peak`` is the true peak so far (linear).
    The interpolation is a compiled polyphase filter (scipy.signal took 0.7 s to import, in
    every render)."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.factor = 4 if sample_rate < 96_000 else 2
        length = TAPS_PER_PHASE * self.factor  # a Kaiser-windowed sinc lowpass at 0.9 x the old Nyquist
        middle = np.arange(length) - (length - 1) / 2
        taps = np.sinc(0.9 / self.factor * middle) * np.kaiser(length, 8.0)
        taps *= self.factor / taps.sum()
        phases = [taps[phase :: self.factor][::-1] for phase in range(self.factor)]
        self._phases = np.ascontiguousarray((phases * 2)[:4])  # at 2x, each phase twice: the kernel runs four
        self._history = np.zeros((channels, TAPS_PER_PHASE - 1))
        self.peak = 0.0

    def add(self, block: np.ndarray) -> None:
        if len(block):  # offline only: a new array per block (history and block side by side)
            held = self._history.shape[1]
            joined = np.empty((self._history.shape[0], held + len(block)))
            joined[:, :held] = self._history
            joined[:, held:] = np.asarray(block).T
            self.peak = max(self.peak, _oversampled_peak(joined, self._phases))
            self._history = joined[:, -held:].copy()

    def dbtp(self) -> float:
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


def true_peak(audio: np.ndarray, sample_rate: int) -> float:
    """A whole signal's true peak (linear)."""
    meter = TruePeak(sample_rate, audio.shape[1])
    meter.add(audio)
    return meter.peak
