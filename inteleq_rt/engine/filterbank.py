"""Biquad band filterbank with running band RMS, compiled with numba for the audio thread.

A band set is plain data (a tuple of (low_hz, high_hz) edges), so the paper's five bands,
octaves or 1/3 octaves are a configuration, not new code. Each band is two biquad sections:
a 4th-order Butterworth band-pass, or a 4th-order high-pass when its top edge reaches the
Nyquist region. Levels are one-pole mean-square integrators per channel, updated sample by
sample, so any split of the signal into blocks gives the same levels as processing it whole.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, void

from .jit import njit

SECTIONS_PER_BAND = 2
# A band whose top edge lies above this share of Nyquist is designed as a high-pass.
_HIGHPASS_ABOVE_NYQUIST_SHARE = 0.9
# Tiny DC added before the band filters keeps their state out of subnormal numbers in
# digital silence (band-pass and high-pass sections reject it); mean squares are floored
# for the same reason. Both are far below the level floor of the features.
_ANTI_DENORMAL_DC = 1e-18
_MEAN_SQUARE_FLOOR = 1e-30


def design_bands(
    bands: tuple[tuple[float, float], ...], sample_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Second-order sections, shape (bands, 2, 6), and which bands exist below Nyquist."""
    nyquist = sample_rate / 2.0
    sos = np.zeros((len(bands), SECTIONS_PER_BAND, 6))
    present = np.zeros(len(bands), dtype=bool)
    for index, (low, high) in enumerate(bands):
        if not 0.0 < low < high:
            raise ValueError(f"band {index} edges ({low:g}, {high:g}) Hz are not increasing")
        if low >= _HIGHPASS_ABOVE_NYQUIST_SHARE * nyquist:
            sos[index, :, 3] = 1.0  # silent section (b = 0, a0 = 1): the band reads as floor
            continue
        present[index] = True
        if high >= _HIGHPASS_ABOVE_NYQUIST_SHARE * nyquist:
            sos[index] = butterworth_highpass(low, sample_rate)
        else:
            sos[index] = butterworth_bandpass(low, high, sample_rate)
    return sos, present


# The two Butterworth designs the bank needs, as scipy.signal.butter(..., output="sos") makes
# them (tests hold them to it): importing scipy.signal costs ~0.8 s and ~75 MB, most of the
# engine's start-up, for two formulas. Analog prototype -> prewarped band transform ->
# bilinear transform -> two sections, the pole pair farther from the unit circle first.
def _prototype_poles(order: int) -> np.ndarray:
    k = np.arange(-order + 1, order, 2)
    return -np.exp(1j * np.pi * k / (2 * order))


def _sections(poles: np.ndarray, gain: float, bandpass: bool) -> np.ndarray:
    """Two biquads from four z-plane poles (two conjugate pairs). Their zeros are real: all at
    z = 1 for the high-pass; for the band-pass, two at z = 1 go with the lower pole pair and
    two at z = -1 with the upper one."""
    upper = poles[poles.imag > 0]
    upper = upper[np.argsort(-np.abs(np.abs(upper) - 1.0))]  # farthest from the unit circle first
    sos = np.zeros((SECTIONS_PER_BAND, 6))
    for section, pole in enumerate(upper):
        zero = 1.0 if not bandpass or pole.real >= upper[1 - section].real else -1.0
        sos[section] = [1.0, -2.0 * zero, 1.0, 1.0, -2.0 * pole.real, abs(pole) ** 2]
    sos[0, :3] *= gain
    return sos


def _bilinear(analog_poles: np.ndarray, analog_gain: float, analog_zeros_at_origin: int,
              sample_rate: float) -> tuple[np.ndarray, float]:
    twice_rate = 2.0 * sample_rate
    poles = (twice_rate + analog_poles) / (twice_rate - analog_poles)
    gain = analog_gain * twice_rate ** analog_zeros_at_origin / np.prod(twice_rate - analog_poles)
    return poles, float(gain.real)


def butterworth_bandpass(low_hz: float, high_hz: float, sample_rate: float) -> np.ndarray:
    """4th-order Butterworth band-pass (a 2nd-order prototype), shape (2, 6)."""
    low, high = (2.0 * sample_rate * math.tan(math.pi * f / sample_rate) for f in (low_hz, high_hz))
    width, centre = high - low, math.sqrt(low * high)
    scaled = _prototype_poles(2) * width / 2.0
    spread = np.sqrt(scaled**2 - centre**2)
    poles, gain = _bilinear(np.concatenate([scaled + spread, scaled - spread]), width**2, 2, sample_rate)
    return _sections(poles, gain, bandpass=True)


def butterworth_highpass(cutoff_hz: float, sample_rate: float) -> np.ndarray:
    """4th-order Butterworth high-pass, shape (2, 6)."""
    cutoff = 2.0 * sample_rate * math.tan(math.pi * cutoff_hz / sample_rate)
    analog = cutoff / _prototype_poles(4)
    poles, gain = _bilinear(analog, 1.0 / np.prod(-_prototype_poles(4)).real, 4, sample_rate)
    return _sections(poles, gain, bandpass=False)


def _coefficients_by_section(sos: np.ndarray) -> np.ndarray:
    """(sections, [b0, b1, b2, a1, a2], bands): the kernel's inner loop runs across bands,
    independent filters that the compiler can vectorize."""
    return np.ascontiguousarray(sos[:, :, [0, 1, 2, 4, 5]].transpose(1, 2, 0))


@njit(
    void(float32[:, :], float64[:, :, ::1], float64[:, :, :, ::1], float64, float64[:, ::1], float64[::1]),
    cache=True,
    nogil=True,
)
def analyze_block(x, coefficients, state, alpha, band_ms, overall_ms):
    """Run every band of every channel over one block, updating filter state and mean squares.

    ``state`` is (channels, sections, 2, bands) in transposed direct form II.
    """
    frames, channels = x.shape
    n_bands = coefficients.shape[2]
    b00, b01, b02, a01, a02 = coefficients[0]
    b10, b11, b12, a11, a12 = coefficients[1]
    for c in range(channels):
        z00, z01 = state[c, 0, 0], state[c, 0, 1]
        z10, z11 = state[c, 1, 0], state[c, 1, 1]
        ms = band_ms[c]
        overall = overall_ms[c]
        for n in range(frames):
            s = np.float64(x[n, c])
            overall += alpha * (s * s - overall)
            v = s + _ANTI_DENORMAL_DC
            for b in range(n_bands):
                y = b00[b] * v + z00[b]
                z00[b] = b01[b] * v - a01[b] * y + z01[b]
                z01[b] = b02[b] * v - a02[b] * y
                w = b10[b] * y + z10[b]
                z10[b] = b11[b] * y - a11[b] * w + z11[b]
                z11[b] = b12[b] * y - a12[b] * w
                ms[b] += alpha * (w * w - ms[b])
        overall_ms[c] = max(overall, _MEAN_SQUARE_FLOOR)
        for b in range(n_bands):
            ms[b] = max(ms[b], _MEAN_SQUARE_FLOOR)


class FilterBank:
    """Stateful band analysis of a multichannel stream; owns all of its buffers.

    ``process`` allocates nothing and holds no Python-level loop over samples, so it may run
    in an audio callback. Mean squares are per channel: ``band_ms`` (channels, bands) and
    ``overall_ms`` (channels,).
    """

    def __init__(
        self,
        bands: tuple[tuple[float, float], ...],
        sample_rate: float,
        channels: int,
        rms_window_s: float,
    ) -> None:
        self.bands = tuple(bands)
        self.sample_rate = float(sample_rate)
        self.channels = channels
        self.sos, self.present = design_bands(self.bands, self.sample_rate)
        self._coefficients = _coefficients_by_section(self.sos)
        self.alpha = 1.0 - math.exp(-1.0 / (rms_window_s * self.sample_rate))
        self.state = np.zeros((channels, SECTIONS_PER_BAND, 2, len(self.bands)))
        self.band_ms = np.zeros((channels, len(self.bands)))
        self.overall_ms = np.zeros(channels)
        self.reset()

    def reset(self) -> None:
        self.state[:] = 0.0
        self.band_ms[:] = _MEAN_SQUARE_FLOOR
        self.overall_ms[:] = _MEAN_SQUARE_FLOOR

    def process(self, block: np.ndarray) -> None:
        """Analyse one float32 block of shape (frames, channels)."""
        analyze_block(block, *self.kernel_arrays)

    @property
    def kernel_arrays(self) -> tuple:
        """What ``analyze_block`` takes after the block: for a caller that fuses the analysis
        with other per-sample work in one compiled call (the engine's front end)."""
        return self._coefficients, self.state, self.alpha, self.band_ms, self.overall_ms
