"""The range rule: undo what looks like an EQ error, judged against the spread of its genre.

A genre is a range of balances, not a line (songs of one genre differ from its median by
~5 dB over the bands, a mastering-sized EQ error is ~2 dB), so each band (balance and range
smoothed first: over an octave for a genre, a correction is broad and never chases one band;
finer for a reference, a precise target) is read as a sum of two parts, and only the second
is undone: the song's own departure from its genre's median, Gaussian with the genre's
spread (its 10th-90th percentiles span 2.56 standard deviations, widened by SONG_SPREAD:
~20 songs' percentiles understate how far real songs stray), and an EQ error, none on
NO_ERROR_SHARE of masters and otherwise Laplace with ERROR_SCALE_DB (most errors small, a
few large). The correction is the error's posterior mean: nearly nothing for a song inside
its range, most of the excess for one far outside, smoothly in between. A moved band of a
song that is only unusual costs less than with a hard edge; a bad mix keeps a little more
of its error. With several genres in play, each genre's correction is weighted by its
probability, so an unsure verdict moves less. Stereo: linked, one curve for both channels
(a balance problem is the mix's, not a side's).

Measured in the balance domain (benchmarks/eq_range.py, 104 masters, leave-one-artist-out
ranges, three families of random EQ errors; the hard-edged rule before it in brackets):
0.28 dB mean change to untouched masters, none over 1.34 (0.31, max 3.40); remaining / put
in 0.94 for ~2 dB errors (0.98), 0.89 for ~6 dB errors (0.83). On the GTZAN clips, which
chose none of the constants: 0.26 dB, max 1.33 (0.33, 3.05); 0.96 (1.01); 0.93 (0.87).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..engine.presets import FLAT, Preset
from .curve import filters_of, fit_gains, response_db, scaled
from .spectrum import CENTRES_HZ, NORMALIZE_BELOW_HZ
from .targets import HIGH_PERCENTILE, LOW_PERCENTILE, GenreRange

MAX_GAIN_DB = 6.0  # mastering-sized
_BANDS_PER_OCTAVE = 3
SONG_SPREAD = 1.5
NO_ERROR_SHARE, ERROR_SCALE_DB = 0.5, 2.5
_RANGE_SPAN_SD = NormalDist().inv_cdf(HIGH_PERCENTILE / 100) - NormalDist().inv_cdf(LOW_PERCENTILE / 100)
_ERRORS_DB = np.arange(-30.0, 30.001, 0.25)  # the errors weighed: beyond +-30 dB a fit clips anyway
_PRECISE_DB = 0.25  # a spread narrower than this is a precise target (one reference): matched


def smoothed(values: np.ndarray, octaves: float) -> np.ndarray:
    """A Gaussian average over neighbouring bands (NaN bands left out; NaN if all are)."""
    index = np.arange(len(values))
    known = np.isfinite(values)
    weights = np.exp(-0.5 * ((index[:, None] - index[None, :]) / (_BANDS_PER_OCTAVE * octaves)) ** 2) * known
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights @ np.nan_to_num(values) / total, np.nan)


def range_correction(balance_db: np.ndarray, genre: GenreRange) -> np.ndarray:
    """dB per tonal band that undoes the EQ error ``balance_db`` most likely holds against
    the genre's range (0 at its median, and where the track or the range has no measurement)."""
    octaves = genre.smoothing_octaves
    offset = np.nanmedian((balance_db - genre.median_db)[CENTRES_HZ < NORMALIZE_BELOW_HZ])
    if not np.isfinite(offset):
        return np.zeros(len(balance_db))
    departure = smoothed(balance_db - offset, octaves) - smoothed(genre.median_db, octaves)
    spread = SONG_SPREAD * (smoothed(genre.high_db, octaves) - smoothed(genre.low_db, octaves)) / _RANGE_SPAN_SD
    known = np.isfinite(balance_db) & np.isfinite(genre.median_db) & np.isfinite(departure) & np.isfinite(spread)
    departure, spread = np.where(known, departure, 0.0), np.where(known, spread, 1.0)
    error = np.where(spread < _PRECISE_DB, departure, _likely_error(departure, np.maximum(spread, _PRECISE_DB)))
    return np.where(known, -error, 0.0)  # limited where it is fitted (Limits)


def _likely_error(departure_db: np.ndarray, spread_db: np.ndarray) -> np.ndarray:
    """Per band, the posterior mean of the EQ error in ``departure_db`` (song part ~ N(0,
    spread), error ~ the prior), weighed over _ERRORS_DB in the log domain (no underflow)."""
    log_weight = -0.5 * ((departure_db[:, None] - _ERRORS_DB) / spread_db[:, None]) ** 2 + _log_error_prior()
    weight = np.exp(log_weight - log_weight.max(axis=1, keepdims=True))
    return weight @ _ERRORS_DB / weight.sum(axis=1)


@functools.cache
def _log_error_prior() -> np.ndarray:
    prior = np.exp(-np.abs(_ERRORS_DB) / ERROR_SCALE_DB)
    prior *= (1.0 - NO_ERROR_SHARE) / prior.sum()
    prior[np.argmin(np.abs(_ERRORS_DB))] += NO_ERROR_SHARE
    return np.log(prior)


def blended_correction(balance_db: np.ndarray, ranges: dict[str, GenreRange],
                       probabilities: dict[str, float]) -> np.ndarray:
    """Each genre's correction weighted by its probability (weights not summing to 1 move
    less: what the evidence supports)."""
    total = np.zeros(len(balance_db))
    for genre, weight in probabilities.items():
        if genre in ranges and weight > 0:
            total += weight * range_correction(balance_db, ranges[genre])
    return total


@dataclass(frozen=True)
class Limits:
    """What a user allows the correction: a largest gain, and bands it must leave alone
    (``--protect LOW-HIGH`` Hz: held at 0 dB there, and the fit keeps its filters off them)."""

    max_gain_db: float = MAX_GAIN_DB
    protect_hz: tuple[tuple[float, float], ...] = ()

    def protected(self) -> np.ndarray:
        """True for each tonal band that lies (by its centre) in a protected span."""
        return np.array([any(low <= centre <= high for low, high in self.protect_hz) for centre in CENTRES_HZ],
                        dtype=bool)

    def fit(self, curve_db: np.ndarray, balance_db: np.ndarray) -> np.ndarray:
        """Gains of the LAYOUT filters for this curve: unmeasured bands do not steer the fit,
        protected ones steer it to 0 dB."""
        protected = self.protected()
        weights = np.where(protected, 1.0, np.isfinite(balance_db).astype(float))
        return fit_gains(np.where(protected, 0.0, np.clip(curve_db, -self.max_gain_db, self.max_gain_db)),
                         weights, self.max_gain_db)


def correction_filters(curve_db: np.ndarray, balance_db: np.ndarray, limits: Limits = Limits()):
    """The curve as broad EQ filters within ``limits`` (``--amount`` scales them in the EQ)."""
    return filters_of(limits.fit(curve_db, balance_db))


def explain(curve_db: np.ndarray, genre: str, threshold_db: float = 0.5) -> str:
    """What moved and why, in one line: the largest lift and cut, in the words of the range."""
    if np.max(np.abs(curve_db)) < threshold_db:
        return f"left flat: the balance lies inside {genre}'s range"
    parts = []
    for index, verb, where in ((int(np.argmax(curve_db)), "+", "under"), (int(np.argmin(curve_db)), "", "over")):
        if abs(curve_db[index]) >= threshold_db:
            parts.append(f"{verb}{curve_db[index]:.1f} dB near {_hz(CENTRES_HZ[index])}: the track sits {where} "
                         f"{genre}'s range there")
    return "; ".join(parts)


def _hz(value: float) -> str:
    return f"{value / 1000:.3g} kHz" if value >= 1000 else f"{value:.0f} Hz"


def range_preset(balance_db: np.ndarray, ranges: dict[str, GenreRange], genre: str,
                 probabilities: dict[str, float], amount: float, limits: Limits = Limits()) -> tuple[Preset, str]:
    """A track's correction as the preset ``genre`` renders with (broad fitted filters), and
    what moved, in one line; flat when there is no range for the genre."""
    if genre not in ranges:
        moved = "no correction" if genre == FLAT else f"left flat: ranges.toml has no {genre} range"
        return Preset(genre, moved, __name__, (), None), moved
    curve = blended_correction(balance_db, ranges, probabilities)
    filters = correction_filters(curve, balance_db, limits)
    moved = explain(response_db(scaled(filters, amount), CENTRES_HZ), genre)
    return Preset(genre, f"range correction: {moved}", __name__, filters, None), moved
