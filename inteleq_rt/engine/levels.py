"""Band levels in dB from filterbank mean squares: what meters, reports and features show."""

from __future__ import annotations

import numpy as np

from .config import LEVEL_FLOOR_DB


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
