"""Range mode, live: one fixed chain of broad filters whose gains follow a posted correction.

What to correct is measured and fitted beside the audio path (tonal/follow.py), once a
second, for every genre; this chain only picks the row of the genre it plays (or the
classifier's probability-weighted mix of rows, so an unsure verdict moves less) and ramps
its gains there. One chain, never a crossfade: a change of genre or of the track's balance
is a slew-limited gain ramp, so nothing clicks.
"""

from __future__ import annotations

import math

import numpy as np

from .config import EngineConfig
from .eq import BlendingEqualizer, GainRamp, build_chain, usable_filters
from .presets import EqFilter

# A balance changes over seconds, and the follower posts once a second: gains need not move
# faster than this (at the engine's 12 dB/s, nine filters stepping together at a block's edge
# left sidebands at -53 dB under a 100 Hz tone; at this rate, under -60 dB).
SLEW_DB_PER_S = 3.0

SHELF_Q = 1 / math.sqrt(2)
PEAK_Q = 1.0  # ~1.4 octaves between the -3 dB points: broad, never a narrow boost
# (kind, frequency): the broad filters a correction is made of (tonal/curve.py fits their gains)
LAYOUT: tuple[tuple[str, float], ...] = (
    ("low_shelf", 60.0), ("peak", 125.0), ("peak", 250.0), ("peak", 500.0), ("peak", 1000.0),
    ("peak", 2000.0), ("peak", 4000.0), ("peak", 8000.0), ("high_shelf", 12_000.0))


def layout_filters(gains: np.ndarray | None = None) -> tuple[EqFilter, ...]:
    """Every LAYOUT filter, with these gains (0 dB each when None): the live chain."""
    gains = np.zeros(len(LAYOUT)) if gains is None else gains
    return tuple(EqFilter(kind, frequency, float(gain), SHELF_Q if kind != "peak" else PEAK_Q)
                 for (kind, frequency), gain in zip(LAYOUT, gains))


class CurveEQ(BlendingEqualizer):
    """The LAYOUT chain, steered by ``set_curves``."""

    def __init__(self, genres: tuple[str, ...], config: EngineConfig, initial: str) -> None:
        self.sample_rate = float(config.sample_rate)
        self.genres = genres
        self.amount = config.amount
        self.curve_filters = len(LAYOUT)  # gains posted per genre, usable at this rate or not
        every = layout_filters()
        self._filters = usable_filters(every, self.sample_rate)
        self._usable = np.array([i for i, f in enumerate(every) if f in self._filters], dtype=np.int64)
        self._board, plugins = build_chain(self._filters)
        self._ramp = GainRamp(plugins, min(config.gain_slew_db_per_s, SLEW_DB_PER_S))
        self._curves = np.zeros((len(genres), len(LAYOUT)))
        self._blend = np.zeros(len(genres))
        self._blending = False
        self._wanted = np.zeros(len(LAYOUT))
        self.active = initial

    @property
    def target(self) -> str:
        return self.active

    @property
    def fade_progress(self) -> float | None:
        return None  # changes are gain ramps, never crossfades

    def select(self, genre: str) -> None:
        self.active = genre
        self._update_goals()

    def set_amount(self, amount: float) -> None:
        self.amount = amount
        self._update_goals()

    def set_blend(self, weights: np.ndarray | None) -> None:
        """The classifier's probabilities over the genres: the active genre's correction is
        their weighted sum (each genre's own correction, times how likely it is)."""
        self._blending = weights is not None
        if weights is not None:
            self._blend[:] = weights
        self._update_goals()

    def set_curves(self, curves: np.ndarray) -> None:
        """Each genre's correction (genres x filters, dB at full amount)."""
        self._curves[:] = curves
        self._update_goals()

    def _update_goals(self) -> None:
        active = self.genres.index(self.active)
        if self._blending and self._blend[active] > 0:  # a genre of the classifier's, not the user's
            np.dot(self._blend, self._curves, out=self._wanted)
        else:
            self._wanted[:] = self._curves[active]
        np.take(self._wanted, self._usable, out=self._ramp.goal)
        self._ramp.goal *= self.amount
        self._ramp.moving = True

    def warm_up(self, silence: np.ndarray) -> None:
        self._board.process(silence, self.sample_rate, reset=True)
        self._board.reset()

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        self._ramp.advance(block.shape[0] / self.sample_rate)
        out[:] = self._board.process(block, self.sample_rate, reset=False)

    def filters(self, genre: str) -> tuple[EqFilter, ...]:
        return self._filters

    def current_gains(self) -> np.ndarray:
        return self._ramp.current
