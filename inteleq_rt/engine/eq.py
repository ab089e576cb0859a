"""The EQ itself: pedalboard filter chains, preset crossfades and ramped gain changes.

Three modes implement one interface, ``Equalizer`` (the two that can steer toward a mix of
genres, ``BlendingEqualizer``):

* ``PresetEQ`` (here) applies a genre preset's chain as written. A genre switch runs the old
  and the new chain side by side and crossfades them with a raised-cosine law (weights sum to
  one, so a signal common to both chains keeps its level).
* ``MatchEQ`` (match.py) runs one filter per analysis band and steers each band's gain toward
  the genre's target balance from the measured input levels, smoothed over seconds.
* ``CurveEQ`` (curve_eq.py) runs one chain of broad filters whose gains follow the range
  correction measured beside the audio path (range mode, live).

Neither pedalboard nor JUCE smooths parameters, so every gain change is slew-limited here.
All chains are built before streaming starts; nothing here builds a plugin on the audio path.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import pedalboard
from numba import boolean, float32, float64, void

from .config import EngineConfig
from .jit import njit
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
def crossfade(old, new, out, position, step):
    """out = old * (1 - w) + new * w, with w a raised cosine of the fade position per frame."""
    frames, channels = out.shape
    for n in range(frames):
        p = min(position + n * step, 1.0)
        w = 0.5 - 0.5 * math.cos(math.pi * p)
        for c in range(channels):
            out[n, c] = np.float32((1.0 - w) * old[n, c] + w * new[n, c])


@njit(void(float32[:, :], float32[:, :], float64[::1]), cache=True, nogil=True)
def bypass_block(dry, out, state):
    """One block of ``Bypass`` over its ``state`` (position 0: EQ .. 1: dry, step per frame,
    bypassed 0/1): ``out`` becomes the dry input, the EQ's output, or a crossfade between."""
    position, step, bypassed = state[0], state[1], state[2] != 0.0
    if position == (1.0 if bypassed else 0.0):
        if bypassed:
            out[:, :] = dry
        return
    if bypassed:
        crossfade(out, dry, out, position, step)
        state[0] = min(1.0, position + dry.shape[0] * step)
    else:
        crossfade(dry, out, out, 1.0 - position, step)
        state[0] = max(0.0, position - dry.shape[0] * step)


class Bypass:
    """The dry input in place of the EQ's output while bypassed, reached (and left) by a
    raised-cosine crossfade over ``fade_s``: quick enough to A/B, long enough not to click.
    Its state is one small array, so a compiled caller (back.py) can run it in its own call."""

    def __init__(self, sample_rate: int, fade_s: float) -> None:
        self.state = np.array([0.0, 1.0 / (fade_s * sample_rate), 0.0])

    @property
    def position(self) -> float:
        """0: the EQ is heard .. 1: the dry input."""
        return float(self.state[0])

    @property
    def bypassed(self) -> bool:
        return bool(self.state[2])

    @bypassed.setter
    def bypassed(self, bypassed: bool) -> None:
        self.state[2] = float(bypassed)

    def process(self, dry: np.ndarray, out: np.ndarray) -> None:
        bypass_block(dry, out, self.state)


@njit(boolean(float64[::1], float64[::1], float64), cache=True, nogil=True)
def step_toward(current, goal, limit):
    """Move each of ``current`` toward its ``goal`` by at most ``limit``; True if any moved.
    One compiled call: the numpy calls it replaced (subtract, clip, flatnonzero, a loop over
    numpy scalars) took 30 us a block warm and ~90 us paced, as a callback meets them."""
    moved = False
    for i in range(current.shape[0]):
        step = min(max(goal[i] - current[i], -limit), limit)
        if step != 0.0:
            current[i] += step
            moved = True
    return moved


class GainRamp:
    """Moves a chain's gains toward goals at a bounded rate.

    Whoever changes ``goal`` sets ``moving``; a ramp at rest costs nothing per block."""

    def __init__(self, plugins: list[pedalboard.Plugin], slew_db_per_s: float) -> None:
        self.plugins = plugins
        self.slew_db_per_s = slew_db_per_s
        self.current = np.zeros(len(plugins))
        self.goal = np.zeros(len(plugins))
        self.moving = False

    def jump(self) -> None:
        """Set gains to their goals at once (only while the chain is inaudible)."""
        self.current[:] = self.goal
        self.moving = False
        self._apply()

    def advance(self, seconds: float) -> None:
        if not self.moving:
            return
        self.moving = step_toward(self.current, self.goal, self.slew_db_per_s * seconds)
        if self.moving:
            self._apply()

    def _apply(self) -> None:
        # every gain, moved or not: a plugin recomputes its coefficients each block anyway
        # (pedalboard's filters do in prepare), so an unchanged gain costs only its setter
        for plugin, gain in zip(self.plugins, self.current.tolist()):
            plugin.gain_db = gain


class Equalizer(ABC):
    """What the engine asks of an EQ mode; every method but the constructor may run on the
    audio thread, between or inside blocks, and must not allocate beyond pedalboard's output."""

    @property
    @abstractmethod
    def target(self) -> str:
        """The genre whose EQ is (or is becoming) audible."""

    @property
    @abstractmethod
    def fade_progress(self) -> float | None:
        """0..1 while crossfading to ``target``, else None."""

    @abstractmethod
    def select(self, genre: str) -> None:
        """Start moving to ``genre``, unless a move is still under way: then ``target`` stays
        as it was, and the engine asks again at the next block."""

    @abstractmethod
    def set_amount(self, amount: float) -> None:
        """Scale every gain (0..1); the change is ramped."""

    def set_curves(self, curves: np.ndarray) -> None:
        """Range mode's posted corrections (curve_eq.py); the other modes are never sent any."""
        raise NotImplementedError(f"{type(self).__name__} follows no posted correction")

    @abstractmethod
    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Equalize one float32 block (frames, channels) into ``out``."""

    @abstractmethod
    def filters(self, genre: str) -> tuple[EqFilter, ...]:
        """The filters of ``genre``'s chain, in the order of ``current_gains``."""

    @abstractmethod
    def current_gains(self) -> np.ndarray:
        """The target chain's gains (dB) right now (a view: copy it to keep it)."""

    @abstractmethod
    def warm_up(self, silence: np.ndarray) -> None:
        """Run every chain once on a full-size block before the audio thread does."""


class BlendingEqualizer(Equalizer):
    """An EQ that steers toward the classifier's probability-weighted mix of genres."""

    @abstractmethod
    def set_blend(self, weights: np.ndarray | None) -> None:
        """Weights over the genres (in preset order) to steer toward, or None for ``target``."""


class PresetEQ(Equalizer):
    """Each preset's chain as written, scaled by ``amount``, crossfading on genre changes.

    Chains are switched, not blended (a blend of targets is match and range modes'): the
    genre posted selects the chain."""

    def __init__(self, presets: dict[str, Preset], config: EngineConfig, initial: str) -> None:
        self.sample_rate = float(config.sample_rate)
        self.crossfade_s = config.crossfade_s
        self.amount = config.amount
        self._filters: dict[str, tuple[EqFilter, ...]] = {}
        self._boards: dict[str, pedalboard.Pedalboard] = {}
        self._ramps: dict[str, GainRamp] = {}
        self._nominal: dict[str, np.ndarray] = {}
        for name, preset in presets.items():
            filters = usable_filters(preset.eq, self.sample_rate)
            board, plugins = build_chain(filters)
            self._filters[name] = filters
            self._boards[name] = board
            self._ramps[name] = GainRamp(plugins, config.gain_slew_db_per_s)
            self._nominal[name] = np.array([f.gain_db for f in filters])
        self.active = initial
        self.incoming: str | None = None
        self.fade_position = 0.0
        self._update_goals(initial)
        self._ramps[initial].jump()

    def _update_goals(self, name: str) -> None:
        ramp = self._ramps[name]
        np.multiply(self._nominal[name], self.amount, out=ramp.goal)
        ramp.moving = True

    def set_amount(self, amount: float) -> None:
        self.amount = amount
        for name in (self.active, self.incoming):
            if name is not None:
                self._update_goals(name)

    @property
    def target(self) -> str:
        return self.incoming or self.active

    def select(self, name: str) -> None:
        """Start a crossfade to ``name``; refused while another fade is running."""
        if name == self.target or self.incoming is not None:
            return
        self.incoming, self.fade_position = name, 0.0
        self._boards[name].reset()
        self._update_goals(name)
        self._ramps[name].jump()

    def warm_up(self, silence: np.ndarray) -> None:
        for board in self._boards.values():
            board.process(silence, self.sample_rate, reset=True)
            board.reset()

    @property
    def fade_progress(self) -> float | None:
        """0..1 while crossfading to ``incoming``, else None."""
        return None if self.incoming is None else self.fade_position

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Filter one block through the audible chain(s), crossfading while a switch runs."""
        frames = block.shape[0]
        seconds = frames / self.sample_rate
        self._ramps[self.active].advance(seconds)
        current = self._boards[self.active].process(block, self.sample_rate, reset=False)
        if self.incoming is None:
            out[:] = current
            return
        self._ramps[self.incoming].advance(seconds)
        upcoming = self._boards[self.incoming].process(block, self.sample_rate, reset=False)
        step = 1.0 / max(self.crossfade_s * self.sample_rate, 1.0)
        crossfade(current, upcoming, out, self.fade_position, step)
        self.fade_position += frames * step
        if self.fade_position >= 1.0:
            self.active, self.incoming, self.fade_position = self.incoming, None, 0.0

    def filters(self, genre: str) -> tuple[EqFilter, ...]:
        return self._filters[genre]

    def current_gains(self) -> np.ndarray:
        return self._ramps[self.target].current


