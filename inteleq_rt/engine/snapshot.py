"""What the engine tells the world about its blocks: what each publishes, the consistent copy
readers get, and (for ``bench --profile``) how long each stage took.

The audio thread writes ``Published``'s arrays (allocated once) under the engine's sequence
lock (seqlock.py); ``Engine.snapshot`` copies them, retried until no write was under way,
and returns a ``Snapshot``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .levels import feature_vector
from .presets import EqFilter


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the engine's state at the end of one block."""

    time_s: float
    blocks: int
    genre: str
    crossfade: float | None
    eq_gains: list[tuple[EqFilter, float]]
    input_band_ms: np.ndarray
    input_overall_ms: np.ndarray
    output_band_ms: np.ndarray | None
    output_overall_ms: np.ndarray | None
    level_gain_db: float  # what level matching applies to the EQ's output
    bypass: float  # 0: the EQ is heard, 1: the dry input (between: crossfading)
    limited_blocks: int
    limiter_reduction_db: float  # the deepest gain reduction since the start (>= 0)

    def input_features(self) -> np.ndarray:
        return feature_vector(self.input_band_ms, self.input_overall_ms)


class Published:
    """The state a block publishes, in arrays allocated once (written by the audio thread)."""

    def __init__(self, channels: int, bands: int, max_filters: int) -> None:
        self.input = (np.zeros((channels, bands)), np.zeros(channels))
        self.output = (np.zeros((channels, bands)), np.zeros(channels))
        self.gains = np.zeros(max_filters)
        # frames, blocks, genre index, filter count, fade progress (NaN: no fade), level gain,
        # bypass position, limited blocks, deepest limiting
        self.scalars = np.zeros(9)


# One stage of a block: (the block as it came, the conditioned copy, the output).
Stage = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class StageProfile:
    """Nanoseconds each stage of each block took, in an array allocated up front."""

    def __init__(self, blocks: int) -> None:
        self.names: list[str] = []
        self.blocks = blocks
        self.times_ns: np.ndarray | None = None
        self._block = -1  # the block being timed (the first stage moves it on)

    def timed(self, index: int, stage: Stage) -> Stage:
        if self.times_ns is None or self.times_ns.shape[1] != len(self.names):
            self.times_ns = np.zeros((self.blocks, len(self.names)), np.int64)
        clock, times = time.perf_counter_ns, self.times_ns
        last = self.blocks - 1

        def run(raw: np.ndarray, clean: np.ndarray, out: np.ndarray) -> None:
            if index == 0:
                self._block = min(self._block + 1, last)
            began = clock()
            stage(raw, clean, out)
            times[self._block, index] = clock() - began

        return run

    def recorded(self) -> np.ndarray:
        """(blocks timed, stages) in ns."""
        return self.times_ns[: self._block + 1]
