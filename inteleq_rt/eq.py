"""The EQ itself: pedalboard filter chains, preset crossfades and ramped gain changes.

Two modes share one contract (``select``, ``process``, ``gains``):

* ``PresetEQ`` applies a genre preset's chain as written. A genre switch runs the old and the
  new chain side by side and crossfades them with a raised-cosine law (weights sum to one, so
  a signal common to both chains keeps its level).
* ``MatchEQ`` runs one filter per analysis band and steers each band's gain toward the
  genre's target balance from the measured input levels, smoothed over seconds.

Neither pedalboard nor JUCE smooths parameters, so every gain change is slew-limited here.
All chains are built before streaming starts; nothing here builds a plugin on the audio path.
"""

from __future__ import annotations

import math

import numpy as np
import pedalboard
from numba import float32, float64, njit, void

from .config import LEVEL_FLOOR_DB, MATCH_GATE_DB, EngineConfig
from .filterbank import FilterBank
from .presets import EqFilter, Preset

# JUCE's shelf and peak designs need their frequency clearly below Nyquist; a filter above
# this share of the sample rate has nothing left to shape and is left out of the chain.
MAX_FILTER_FREQUENCY_SHARE = 0.45
_PLUGIN_TYPES = {
    "low_shelf": pedalboard.LowShelfFilter,
    "peak": pedalboard.PeakFilter,
    "high_shelf": pedalboard.HighShelfFilter,
}


def usable_filters(filters: tuple[EqFilter, ...], sample_rate: float) -> tuple[EqFilter, ...]:
    """The filters that can exist at this sample rate."""
    return tuple(f for f in filters if f.frequency_hz < MAX_FILTER_FREQUENCY_SHARE * sample_rate)


def build_chain(filters: tuple[EqFilter, ...]) -> tuple[pedalboard.Pedalboard, list[pedalboard.Plugin]]:
    """A pedalboard chain for these filters (gains start at 0 dB; ramps set them)."""
    plugins = [
        _PLUGIN_TYPES[f.kind](cutoff_frequency_hz=f.frequency_hz, gain_db=0.0, q=f.q) for f in filters
    ]
    return pedalboard.Pedalboard(plugins), plugins


@njit(void(float32[:, :], float32[:, :], float32[:, :], float64, float64), cache=True, nogil=True)
def _crossfade(old, new, out, position, step):
    """out = old * (1 - w) + new * w, with w a raised cosine of the fade position per frame."""
    frames, channels = out.shape
    for n in range(frames):
        p = min(position + n * step, 1.0)
        w = 0.5 - 0.5 * math.cos(math.pi * p)
        for c in range(channels):
            out[n, c] = np.float32((1.0 - w) * old[n, c] + w * new[n, c])


class _GainRamp:
    """Moves a chain's gains toward goals at a bounded rate, touching only plugins that change."""

    def __init__(self, plugins: list[pedalboard.Plugin], slew_db_per_s: float) -> None:
        self.plugins = plugins
        self.slew_db_per_s = slew_db_per_s
        self.current = np.zeros(len(plugins))
        self.goal = np.zeros(len(plugins))
        self._step = np.zeros(len(plugins))

    def jump(self) -> None:
        """Set gains to their goals at once (only while the chain is inaudible)."""
        self.current[:] = self.goal
        for plugin, gain in zip(self.plugins, self.current):
            plugin.gain_db = float(gain)

    def advance(self, seconds: float) -> None:
        limit = self.slew_db_per_s * seconds
        np.subtract(self.goal, self.current, out=self._step)
        np.clip(self._step, -limit, limit, out=self._step)
        for i in np.flatnonzero(self._step):
            self.current[i] += self._step[i]
            self.plugins[i].gain_db = float(self.current[i])


class PresetEQ:
    """Each preset's chain as written, scaled by ``amount``, crossfading on genre changes."""

    def __init__(self, presets: dict[str, Preset], config: EngineConfig, initial: str) -> None:
        self.sample_rate = float(config.sample_rate)
        self.crossfade_s = config.crossfade_s
        self.amount = config.amount
        self.filters: dict[str, tuple[EqFilter, ...]] = {}
        self._boards: dict[str, pedalboard.Pedalboard] = {}
        self._ramps: dict[str, _GainRamp] = {}
        self._nominal: dict[str, np.ndarray] = {}
        for name, preset in presets.items():
            filters = usable_filters(preset.eq, self.sample_rate)
            board, plugins = build_chain(filters)
            self.filters[name] = filters
            self._boards[name] = board
            self._ramps[name] = _GainRamp(plugins, config.gain_slew_db_per_s)
            self._nominal[name] = np.array([f.gain_db for f in filters])
        self._mix = np.zeros((config.max_block_size, config.channels), dtype=np.float32)
        self.active = initial
        self.incoming: str | None = None
        self.fade_position = 0.0
        self._update_goals(initial)
        self._ramps[initial].jump()

    def _update_goals(self, name: str) -> None:
        np.multiply(self._nominal[name], self.amount, out=self._ramps[name].goal)

    @property
    def target(self) -> str:
        return self.incoming or self.active

    def select(self, name: str) -> bool:
        """Start a crossfade to ``name``; refused (False) while another fade is running."""
        if name == self.target:
            return True
        if self.incoming is not None:
            return False
        self.incoming, self.fade_position = name, 0.0
        self._boards[name].reset()
        self._update_goals(name)
        self._ramps[name].jump()
        return True

    def warm_up(self, silence: np.ndarray) -> None:
        for board in self._boards.values():
            board.process(silence, self.sample_rate, reset=True)
            board.reset()

    @property
    def fade_progress(self) -> float | None:
        """0..1 while crossfading to ``incoming``, else None."""
        return None if self.incoming is None else self.fade_position

    def process(self, block: np.ndarray, out: np.ndarray, analysis: FilterBank) -> None:
        """Filter one block through the audible chain(s); ``analysis`` is unused here."""
        frames = block.shape[0]
        seconds = frames / self.sample_rate
        self._update_goals(self.active)
        self._ramps[self.active].advance(seconds)
        current = self._boards[self.active].process(block, self.sample_rate, reset=False)
        if self.incoming is None:
            out[:] = current
            return
        self._update_goals(self.incoming)
        self._ramps[self.incoming].advance(seconds)
        upcoming = self._boards[self.incoming].process(block, self.sample_rate, reset=False)
        step = 1.0 / max(self.crossfade_s * self.sample_rate, 1.0)
        _crossfade(current, upcoming, out, self.fade_position, step)
        self.fade_position += frames * step
        if self.fade_position >= 1.0:
            self.active, self.incoming, self.fade_position = self.incoming, None, 0.0

    def gains(self) -> list[tuple[EqFilter, float]]:
        """The audible chain's filters with their current gains (dB)."""
        name = self.target
        return list(zip(self.filters[name], self._ramps[name].current.tolist()))


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
    if overall_db < MATCH_GATE_DB:
        return
    for b in range(n_bands):
        band = 0.0
        for c in range(channels):
            band += band_ms[c, b]
        band_db = 10.0 * math.log10(max(band / channels, floor)) - overall_db
        wanted = min(max(target_db[b] - band_db, -max_gain_db), max_gain_db) * amount * mask[b]
        goals[b] += smoothing * (wanted - goals[b])


class MatchEQ:
    """One filter per analysis band, steered toward the selected genre's target balance."""

    def __init__(
        self,
        presets: dict[str, Preset],
        config: EngineConfig,
        initial: str,
        bands: tuple[tuple[float, float], ...],
    ) -> None:
        self.sample_rate = float(config.sample_rate)
        self.amount = config.amount
        self.max_gain_db = config.match_max_gain_db
        self.smoothing_s = config.match_smoothing_s
        every_band = band_filters(bands)
        self.filters = usable_filters(every_band, self.sample_rate)
        self._usable_bands = np.array([i for i, f in enumerate(every_band) if f in self.filters])
        self._board, plugins = build_chain(self.filters)
        self._ramp = _GainRamp(plugins, config.gain_slew_db_per_s)
        self._targets = {name: target_for_bands(p, bands) for name, p in presets.items()}
        self.genres = tuple(self._targets)
        self._target_matrix = np.array([self._targets[g][0] for g in self.genres])
        self._mask_matrix = np.array([self._targets[g][1] for g in self.genres])
        self._blend_target = np.zeros(len(bands))
        self._blend_mask = np.zeros(len(bands))
        self._blend: np.ndarray | None = None  # weights over self.genres, posted by the classifier
        self._goals = np.zeros(len(bands))
        self.active = initial
        self.fade_progress: float | None = None  # match mode changes targets by ramping gains

    @property
    def target(self) -> str:
        return self.active

    def select(self, name: str) -> bool:
        self.active = name
        return True

    def request_blend(self, weights: dict[str, float] | None) -> None:
        """Steer toward the weight-averaged target of several genres (None: the active genre)."""
        if weights is None:
            self._blend = None
            return
        vector = np.array([max(0.0, float(weights.get(g, 0.0))) for g in self.genres])
        if vector.sum() <= 0:
            raise ValueError("blend weights must include a known genre with a positive weight")
        self._blend = vector / vector.sum()  # one reference swap: the audio thread sees old or new

    def warm_up(self, silence: np.ndarray) -> None:
        self._board.process(silence, self.sample_rate, reset=True)
        self._board.reset()

    def process(self, block: np.ndarray, out: np.ndarray, analysis: FilterBank) -> None:
        """Steer gain goals from the input's measured levels, ramp toward them, filter."""
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
        self._ramp.advance(seconds)
        out[:] = self._board.process(block, self.sample_rate, reset=False)

    def gains(self) -> list[tuple[EqFilter, float]]:
        return list(zip(self.filters, self._ramp.current.tolist()))
