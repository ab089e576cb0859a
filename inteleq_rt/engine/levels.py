"""Band levels in dB from filterbank mean squares: what meters, reports and features show."""

from __future__ import annotations

import numpy as np

from .config import LEVEL_FLOOR_DB, SILENCE_GATE_DBFS


def power_db(mean_square: np.ndarray) -> np.ndarray:
    """Mean square to dB, floored at LEVEL_FLOOR_DB so silence never yields -inf."""
    floor = 10.0 ** (LEVEL_FLOOR_DB / 10.0)
    return 10.0 * np.log10(np.maximum(mean_square, floor))


def band_levels_db(band_ms: np.ndarray, overall_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Channel-mixed levels: band levels relative to the overall level, and the overall level.

    ``band_ms`` has shape (..., channels, bands) and ``overall_ms`` (..., channels); channels
    are mixed by power, so the analysis hears the mix whatever the channel count.
    """
    overall_db = power_db(np.mean(overall_ms, axis=-1))
    band_db = power_db(np.mean(band_ms, axis=-2))
    return band_db - overall_db[..., None], overall_db


def feature_vector(band_ms: np.ndarray, overall_ms: np.ndarray) -> np.ndarray:
    """Band levels in dB relative to the overall level, then the overall level in dBFS."""
    relative_db, overall_db = band_levels_db(band_ms, overall_ms)
    return np.concatenate([relative_db, overall_db[..., None]], axis=-1)


class LongTermBalance:
    """A signal's long-term band power relative to its overall power (dB), like an LTAS: the
    filterbank's running levels sampled every ``hop_s``, channels mixed by power. Match mode's
    targets are measured this way from a corpus, and a whole-track render or a reference track
    measures its balance the same way, fed in blocks of any size."""

    def __init__(self, bands, sample_rate: int, channels: int, hop_s: float = 0.1) -> None:
        from .filterbank import FilterBank  # numba: not for those who only read feature_vector

        self._bank = FilterBank(bands, sample_rate, channels, 0.4)
        self._hop = int(hop_s * sample_rate)
        self._pending = 0
        self._band_sum = np.zeros(len(bands))
        self._overall_sum = 0.0
        self._gate_ms = 10.0 ** (SILENCE_GATE_DBFS / 10.0)
        self.hops_heard = 0  # of hop_s each, above the silence gate
        self.hop_s = self._hop / sample_rate

    def add(self, audio: np.ndarray) -> None:
        position = 0
        while position < audio.shape[0]:
            take = min(self._hop - self._pending, audio.shape[0] - position)
            self._bank.process(audio[position : position + take])
            self._pending += take
            position += take
            if self._pending == self._hop:
                self._band_sum += self._bank.band_ms.mean(axis=0)
                overall = self._bank.overall_ms.mean()
                self._overall_sum += overall
                self.hops_heard += overall > self._gate_ms
                self._pending = 0

    @property
    def seconds_heard(self) -> float:
        """How long the signal stood above the silence gate (SILENCE_GATE_DBFS)."""
        return self.hops_heard * self.hop_s

    def levels_db(self) -> np.ndarray:
        return 10 * np.log10(np.maximum(self._band_sum, 1e-30) / max(self._overall_sum, 1e-30))
