"""A correction curve (dB per 1/3-octave band) as a few broad EQ filters pedalboard runs.

A mastering correction is smooth: a shelf for the lows, octave-wide peaks through the
middle, a shelf for the air. Gains are fitted by least squares on the filters' responses
(RBJ cookbook biquads, what pedalboard's filters are), refined twice since shelves and peaks
add in dB only nearly; a small ridge keeps neighbouring filters from fighting each other.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from ..engine.curve_eq import LAYOUT, layout_filters
from ..engine.presets import EqFilter
from .spectrum import CENTRES_HZ

RIDGE = 0.02
FIT_RATE = 48_000  # the responses are the same at any rate well above 16 kHz


def response_db(filters: tuple[EqFilter, ...], frequencies_hz: np.ndarray, sample_rate: float = FIT_RATE) -> np.ndarray:
    """The chain's magnitude response in dB at these frequencies (0 dB above Nyquist)."""
    total = np.zeros(len(frequencies_hz))
    z = np.exp(-1j * 2 * np.pi * np.minimum(frequencies_hz, sample_rate / 2) / sample_rate)
    for f in filters:
        total += 20 * np.log10(_magnitude(*_biquad(f, sample_rate), z))
    return total


def scaled(filters: tuple[EqFilter, ...], amount: float) -> tuple[EqFilter, ...]:
    """The filters as ``--amount`` makes them: gains times ``amount``, as the engine scales
    them (a shelf's response in dB does not scale with its gain, so the response is not
    the full curve's times ``amount``)."""
    return tuple(replace(f, gain_db=f.gain_db * amount) for f in filters)


def _magnitude(b, a, z: np.ndarray) -> np.ndarray:
    """|H(z)| of one biquad (b0, b1, b2) / (a0, a1, a2) at these points of the unit circle."""
    return np.abs((b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z))


def loudness_change_db(filters: tuple[EqFilter, ...], frequencies_hz: np.ndarray, power: np.ndarray,
                       sample_rate: float) -> float:
    """How much louder (LU) the chain makes a sound of this power spectrum, K-weighted as
    BS.1770 weighs it: within 0.05 LU on average (0.29 at most) of a render's meter, on 18
    masters x a preset, a range correction and a preset at 3x (plan.py checks each render)."""
    from ..engine.loudness import k_weighting

    z = np.exp(-2j * np.pi * frequencies_hz / sample_rate)
    weighted = np.array(power, np.float64)
    for b0, b1, b2, a1, a2 in k_weighting(sample_rate):
        weighted *= _magnitude((b0, b1, b2), (1.0, a1, a2), z) ** 2
    if not weighted.sum() > 0:
        return 0.0
    gained = weighted * 10.0 ** (response_db(filters, frequencies_hz, sample_rate) / 10.0)
    return float(10.0 * np.log10(gained.sum() / weighted.sum()))


def _biquad(f: EqFilter, rate: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    gain = 10 ** (f.gain_db / 40)
    w = 2 * math.pi * min(f.frequency_hz, 0.49 * rate) / rate
    alpha, cos = math.sin(w) / (2 * f.q), math.cos(w)
    if f.kind == "peak":
        return (1 + alpha * gain, -2 * cos, 1 - alpha * gain), (1 + alpha / gain, -2 * cos, 1 - alpha / gain)
    root = 2 * math.sqrt(gain) * alpha
    sign = 1 if f.kind == "low_shelf" else -1
    b = (gain * ((gain + 1) - sign * (gain - 1) * cos + root),
         sign * 2 * gain * ((gain - 1) - sign * (gain + 1) * cos),
         gain * ((gain + 1) - sign * (gain - 1) * cos - root))
    a = ((gain + 1) + sign * (gain - 1) * cos + root,
         -sign * 2 * ((gain - 1) + sign * (gain + 1) * cos),
         (gain + 1) + sign * (gain - 1) * cos - root)
    return b, a


@functools.cache
def _unit_responses() -> np.ndarray:
    """Each LAYOUT filter's response at 1 dB of gain (bands x filters): the fit's linear model."""
    return np.stack([response_db(layout_filters(row), CENTRES_HZ) for row in np.eye(len(LAYOUT))], axis=1)


def fit_gains(curve_db: np.ndarray, weights: np.ndarray | None = None, max_gain_db: float = 6.0) -> np.ndarray:
    """Gains of the LAYOUT filters whose response follows ``curve_db`` (one value per tonal
    band), each within +-max_gain_db; ``weights`` (0..1 per band) say where the curve matters."""
    weights = np.ones(len(curve_db)) if weights is None else weights
    unit = _unit_responses()
    gains = np.zeros(len(LAYOUT))
    for _ in range(3):
        residual = curve_db - response_db(layout_filters(gains), CENTRES_HZ)
        lhs = unit.T @ (unit * weights[:, None]) + RIDGE * np.eye(len(LAYOUT))
        gains = np.clip(gains + np.linalg.solve(lhs, unit.T @ (weights * residual)), -max_gain_db, max_gain_db)
    return np.round(gains, 2)


def filters_of(gains: np.ndarray) -> tuple[EqFilter, ...]:
    """The LAYOUT filters with these gains, those at 0 dB left out: a preset's EQ."""
    return tuple(f for f in layout_filters(gains) if f.gain_db != 0.0)
