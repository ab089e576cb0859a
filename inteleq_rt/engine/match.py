"""Match mode: one filter per analysis band, steered toward a genre's target balance.

Each block, the input's measured band levels (relative to its overall level) are compared
with the genre's target; each band's gain goal moves a little toward the difference
(smoothed over seconds, limited, held in silence) and the gains ramp toward the goals.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float64, void

from .config import LEVEL_FLOOR_DB, SILENCE_GATE_DBFS, EngineConfig
from .eq import BlendingEqualizer, GainRamp, build_chain, usable_filters
from .filterbank import FilterBank
from .jit import njit
from .presets import EqFilter, Preset


def band_filters(bands: tuple[tuple[float, float], ...]) -> tuple[EqFilter, ...]:
    """One EQ filter per analysis band: shelves at the outer edges, peaks at band centres."""
    filters = []
    for index, (low, high) in enumerate(bands):
        if index == 0:
            filters.append(EqFilter("low_shelf", high, 0.0, 1 / math.sqrt(2)))
        elif index == len(bands) - 1:
            filters.append(EqFilter("high_shelf", low, 0.0, 1 / math.sqrt(2)))
        else:
            centre = math.sqrt(low * high)
            filters.append(EqFilter("peak", centre, 0.0, centre / (high - low)))
    return tuple(filters)


def target_for_bands(
    preset: Preset, bands: tuple[tuple[float, float], ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The preset's target levels on these bands (log-frequency interpolation) and a steer mask.

    A band is steered only where the preset has a target and that target was measured up to
    the band's top edge; elsewhere the mask is 0 and match mode leaves the band at 0 dB.
    """
    levels = np.zeros(len(bands))
    mask = np.zeros(len(bands))
    target = preset.target
    if target is None:
        return levels, mask
    centres = np.log([math.sqrt(lo * hi) for lo, hi in bands])
    target_centres = np.log([math.sqrt(lo * hi) for lo, hi in target.bands_hz])
    levels[:] = np.interp(centres, target_centres, target.levels_db)
    ceiling = target.measured_below_hz or math.inf
    mask[:] = [1.0 if high <= ceiling else 0.0 for _, high in bands]
    return levels, mask


@njit(
    void(float64[:, ::1], float64[::1], float64[::1], float64[::1], float64, float64, float64, float64[::1]),
    cache=True,
    nogil=True,
)
def _steer(band_ms, overall_ms, target_db, mask, amount, max_gain_db, smoothing, goals):
    """Move each band's gain goal toward (target - measured) relative level, gated on silence."""
    channels, n_bands = band_ms.shape
    floor = 10.0 ** (LEVEL_FLOOR_DB / 10.0)
    overall = 0.0
    for c in range(channels):
        overall += overall_ms[c]
    overall = max(overall / channels, floor)
    overall_db = 10.0 * math.log10(overall)
    if overall_db < SILENCE_GATE_DBFS:
        return
    for b in range(n_bands):
        band = 0.0
        for c in range(channels):
            band += band_ms[c, b]
        band_db = 10.0 * math.log10(max(band / channels, floor)) - overall_db
        wanted = min(max(target_db[b] - band_db, -max_gain_db), max_gain_db) * amount * mask[b]
        goals[b] += smoothing * (wanted - goals[b])


class MatchEQ(BlendingEqualizer):
    """One filter per analysis band, steered toward the selected genre's target balance as
    measured by ``analysis`` (the engine's input filterbank)."""

    def __init__(self, presets: dict[str, Preset], config: EngineConfig, initial: str,
                 analysis: FilterBank) -> None:
        bands = config.bands
        self.analysis = analysis
        self.sample_rate = float(config.sample_rate)
        self.amount = config.amount
        self.max_gain_db = config.match_max_gain_db
        self.smoothing_s = config.match_smoothing_s
        every_band = band_filters(bands)
        self._filters = usable_filters(every_band, self.sample_rate)
        self._usable_bands = np.array([i for i, f in enumerate(every_band) if f in self._filters])
        self._board, plugins = build_chain(self._filters)
        self._ramp = GainRamp(plugins, config.gain_slew_db_per_s)
        self._targets = {name: target_for_bands(p, bands) for name, p in presets.items()}
        self.genres = tuple(self._targets)
        self._target_matrix = np.array([self._targets[g][0] for g in self.genres])
        self._mask_matrix = np.array([self._targets[g][1] for g in self.genres])
        self._blend_target = np.zeros(len(bands))
        self._blend_mask = np.zeros(len(bands))
        self._blend: np.ndarray | None = None  # weights over self.genres, posted by the classifier
        self._goals = np.zeros(len(bands))
        self._blend_weights = np.zeros(len(self.genres))
        self.active = initial
        self.held = False

    @property
    def target(self) -> str:
        return self.active

    @property
    def fade_progress(self) -> float | None:
        return None  # match mode changes targets by ramping gains, never by a crossfade

    def select(self, name: str) -> None:
        self.active = name

    def set_amount(self, amount: float) -> None:
        self.amount = amount

    def set_blend(self, weights: np.ndarray | None) -> None:
        """Steer toward the weight-averaged target of several genres (None: the active genre)."""
        if weights is None or weights.sum() <= 0:
            self._blend = None
            return
        np.divide(weights, weights.sum(), out=self._blend_weights)
        self._blend = self._blend_weights

    def hold(self, balance_db: np.ndarray) -> None:
        """Steer once, from a whole track's long-term balance (band dB relative to overall),
        and keep those gains to the end: a whole-track render."""
        target_db, mask = self._targets[self.active]
        self._goals[:] = 0.0
        _steer(10.0 ** (balance_db[None, :] / 10.0), np.ones(1), target_db, mask, self.amount,
               self.max_gain_db, 1.0, self._goals)
        np.take(self._goals, self._usable_bands, out=self._ramp.goal)
        self._ramp.jump()
        self.held = True

    def warm_up(self, silence: np.ndarray) -> None:
        self._board.process(silence, self.sample_rate, reset=True)
        self._board.reset()

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Steer gain goals from the input's measured levels, ramp toward them, filter."""
        if self.held:
            out[:] = self._board.process(block, self.sample_rate, reset=False)
            return
        analysis = self.analysis
        seconds = block.shape[0] / self.sample_rate
        blend = self._blend
        if blend is None:
            target_db, mask = self._targets[self.active]
        else:
            target_db, mask = self._blend_target, self._blend_mask
            np.dot(blend, self._target_matrix, out=target_db)
            np.dot(blend, self._mask_matrix, out=mask)
        smoothing = 1.0 - math.exp(-seconds / self.smoothing_s)
        _steer(analysis.band_ms, analysis.overall_ms, target_db, mask, self.amount,
               self.max_gain_db, smoothing, self._goals)
        np.take(self._goals, self._usable_bands, out=self._ramp.goal)
        self._ramp.moving = True
        self._ramp.advance(seconds)
        out[:] = self._board.process(block, self.sample_rate, reset=False)

    def filters(self, genre: str) -> tuple[EqFilter, ...]:
        return self._filters

    def current_gains(self) -> np.ndarray:
        return self._ramp.current
