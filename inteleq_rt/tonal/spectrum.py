"""A track's long-term spectrum (an LTAS) in 1/3-octave bands, 31.5 Hz to 16 kHz.

One measurement for everything that judges tonal balance: the genre ranges are built from
it, a render corrects by it, the benchmark scores by it. Welch's method on the mono
downmix (Hann frames, half overlap), frames of silence left out, so a fade or a gap does
not count as a dull track. Levels are relative to the track's own median band below
10 kHz: loudness does not matter, and every corpus (GTZAN stops at 11 kHz) has those bands.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine.config import SILENCE_GATE_DBFS, band_set
from ..downmix import mono

BANDS: tuple[tuple[float, float], ...] = tuple(
    (low, high) for low, high in band_set("third-octave") if low >= 27.0 and high <= 18_000.0)
CENTRES_HZ = np.array([math.sqrt(low * high) for low, high in BANDS])
NORMALIZE_BELOW_HZ = 10_000.0  # the median of these bands is a balance's 0 dB
FRAME_S = 0.35  # ~3 Hz bins at 44.1 kHz: the 31.5 Hz band (28-35 Hz) spans a few of them
# A lossy encoder's lowpass is a cliff: the bandwidth is the highest frequency still within
# this many dB of the spectrum's level at 5-10 kHz (smoothed over ~200 Hz); a band reaching
# above it holds no music, and is left out (shown beside each band's statistics).
CLIFF_DB = 30.0


class LongTermSpectrum:
    """Band powers accumulated from blocks of any size (frames x channels): a whole track's,
    or live, the last ``memory_s`` or so (older frames fade exponentially)."""

    def __init__(self, sample_rate: int, memory_s: float | None = None) -> None:
        self.sample_rate = sample_rate
        self.frame = 1 << max(int(math.log2(FRAME_S * sample_rate)), 8)
        self._decay = 1.0 if memory_s is None else math.exp(-self.frame / 2 / sample_rate / memory_s)
        self._window = np.hanning(self.frame)
        self._pending = np.zeros(0)
        self._power = np.zeros(self.frame // 2 + 1)
        self.frames_heard = 0
        frequencies = np.fft.rfftfreq(self.frame, 1.0 / sample_rate)
        self._which = [np.flatnonzero((frequencies >= low) & (frequencies < high)) for low, high in BANDS]
        self._gate = 10.0 ** (SILENCE_GATE_DBFS / 10.0)

    def add(self, block: np.ndarray) -> None:
        audio = np.concatenate([self._pending, np.nan_to_num(mono(block), copy=False)])
        hop = self.frame // 2
        starts = range(0, len(audio) - self.frame + 1, hop)
        for start in starts:
            frame = audio[start : start + self.frame]
            if np.mean(frame * frame) > self._gate:
                self._power *= self._decay
                bins = np.fft.rfft(frame * self._window)
                self._power += bins.real ** 2 + bins.imag ** 2
                self.frames_heard += 1
        self._pending = audio[len(starts) * hop :]

    def band_db(self) -> np.ndarray:
        """Band levels in dB (any reference), NaN where the band holds no music: above the
        rate's reach or the encoder's lowpass, or no frame above the silence gate."""
        levels = np.full(len(BANDS), np.nan)
        if not self.frames_heard:
            return levels
        reach = self.bandwidth_hz()
        for index, (which, (_, high)) in enumerate(zip(self._which, BANDS)):
            if len(which) and high <= reach:
                levels[index] = 10 * np.log10(max(self._power[which].sum(), 1e-30))
        return levels

    def bandwidth_hz(self) -> float:
        """Where the music stops: the Nyquist frequency, or a lossy encoder's lowpass below it."""
        bin_hz = self.sample_rate / self.frame
        width = max(int(200.0 / bin_hz), 1)
        smooth = 10 * np.log10(np.maximum(np.convolve(self._power, np.ones(width) / width, "same"), 1e-30))
        frequencies = np.arange(len(smooth)) * bin_hz
        reference = smooth[(frequencies >= 5000.0) & (frequencies < 10_000.0)]
        if not len(reference):
            return self.sample_rate / 2
        alive = np.flatnonzero((smooth > np.median(reference) - CLIFF_DB) & (frequencies < self.sample_rate / 2 - width * bin_hz))
        return float(frequencies[alive[-1]]) if len(alive) else self.sample_rate / 2

    def power(self) -> tuple[np.ndarray, np.ndarray]:
        """(frequencies in Hz, the power heard at each, summed over frames above the gate)."""
        return np.fft.rfftfreq(self.frame, 1.0 / self.sample_rate), self._power

    def balance_db(self) -> np.ndarray:
        """Band levels relative to the median band below 10 kHz (NaN where unmeasured)."""
        return normalized(self.band_db())


def normalized(levels: np.ndarray) -> np.ndarray:
    """Levels relative to their median band below NORMALIZE_BELOW_HZ."""
    below = levels[(CENTRES_HZ < NORMALIZE_BELOW_HZ) & np.isfinite(levels)]
    return levels - np.median(below) if len(below) else levels


def file_balance(path) -> np.ndarray:
    """A file's balance (``balance_db``), read in blocks."""
    from ..io import files

    info = files.read_info(path)
    spectrum = LongTermSpectrum(info.sample_rate)
    for block in files.stream(path):
        spectrum.add(block)
    return spectrum.balance_db()
