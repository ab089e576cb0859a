"""The classifier's input, computed one way for live streams and for whole files alike."""

from __future__ import annotations

import numpy as np

from .config import LEVEL_FLOOR_DB
from .filterbank import FilterBank


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


def extract_features(
    audio: np.ndarray,
    sample_rate: float,
    bands: tuple[tuple[float, float], ...],
    rms_window_s: float,
    hop_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a whole signal (frames, channels) through the streaming filterbank.

    Returns the times (s) at the end of each hop and the feature vector there: the same
    numbers a live engine would publish at those instants.
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    bank = FilterBank(bands, sample_rate, audio.shape[1], rms_window_s)
    hop = max(1, int(round(hop_s * sample_rate)))
    ends = np.arange(hop, audio.shape[0] + 1, hop)
    band_ms = np.empty((len(ends),) + bank.band_ms.shape)
    overall_ms = np.empty((len(ends),) + bank.overall_ms.shape)
    start = 0
    for i, end in enumerate(ends):
        bank.process(audio[start:end])
        band_ms[i], overall_ms[i] = bank.band_ms, bank.overall_ms
        start = end
    return ends / float(sample_rate), feature_vector(band_ms, overall_ms)
