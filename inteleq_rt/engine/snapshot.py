"""What the engine tells the world about its blocks: what each publishes, the consistent copy
readers get, and (for ``bench --profile``) how long each stage took.

The audio thread writes ``Published``'s arrays (allocated once) under its sequence lock
(seqlock.py); ``Published.snapshot`` (``Engine.snapshot``) copies them, retried until no
write was under way, into a ``Snapshot``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .presets import EqFilter
from .seqlock import Seqlock


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the engine's state at the end of one block (level matching, the
    bypass and the limiter: as they stood when it was taken)."""

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


@dataclass(frozen=True)
class Figures:
    """What a run's summary says of the engine, read once its stream has ended."""

    blocks: int
    repaired_samples: int  # NaN, Inf or beyond the input limit, since the start
    latency_frames: int  # plugins' and the limiter's look-ahead
    look_ahead_frames: int  # the limiter's share of latency_frames
    level_match_db: float | None  # level matching's gain at the end (None: off, or held for a track)
    limited_blocks: int | None  # blocks the limiter reduced (None: no ceiling)
    deepest_limiting_db: float  # its deepest gain reduction (>= 0)


# A block's scalars, by name (one record, written whole: a tuple into a 0-d array is the
# cheapest write measured, 0.34 us against 0.68 by position and 1.0 field by field).
SCALARS = np.dtype([("frames", "f8"), ("blocks", "f8"), ("genre", "f8"), ("filters", "f8"),
                    ("fade", "f8")])  # fade NaN: no fade


class Published:
    """The state a block publishes, in arrays allocated once: the audio thread writes
    (``write``), other threads take snapshots.

    Only what must agree is published (the genre with its gains, the levels with the block
    count). Level matching's gain, the bypass position and the limiter's counts are single
    numbers their kernels keep: a snapshot reads them as they stand (``sound``), so the audio
    thread does not copy them (reading them cost a paced block ~10 us in Python)."""

    def __init__(self, channels: int, bands: int, max_filters: int) -> None:
        self.input = (np.zeros((channels, bands)), np.zeros(channels))
        self.output = (np.zeros((channels, bands)), np.zeros(channels))
        self.gains = np.zeros(max_filters)
        self.scalars = np.zeros((), SCALARS)
        self._lock = Seqlock()

    def write(self, input_levels: tuple[np.ndarray, np.ndarray] | None,
              output_levels: tuple[np.ndarray, np.ndarray] | None,
              gains: np.ndarray, frames: int, blocks: int, genre_index: int, fade: float | None) -> None:
        """One block's state (band and overall mean squares in and out, where measured in
        the block), copied in place under the lock."""
        self._lock.begin()
        if input_levels is not None:
            self.input[0][:], self.input[1][:] = input_levels
        if output_levels is not None:
            self.output[0][:], self.output[1][:] = output_levels
        self.gains[: len(gains)] = gains
        self.scalars[()] = (frames, blocks, genre_index, len(gains), math.nan if fade is None else fade)
        self._lock.end()

    def snapshot(self, genres: tuple[str, ...], filters: Callable[[str], tuple[EqFilter, ...]], sample_rate: int,
                 has_output: bool, sound: Sound) -> Snapshot:
        """A consistent copy of the last block's state; ``filters(genre)``: that genre's EQ;
        ``sound``: the numbers read as they stand."""
        copies = self._lock.read(lambda: [a.copy() for a in (*self.input, *self.output, self.gains, self.scalars)])
        scalars = copies[5]
        genre, fade = genres[int(scalars["genre"])], float(scalars["fade"])
        return Snapshot(
            time_s=float(scalars["frames"]) / sample_rate,
            blocks=int(scalars["blocks"]),
            genre=genre,
            crossfade=None if math.isnan(fade) else fade,
            eq_gains=list(zip(filters(genre), copies[4][: int(scalars["filters"])].tolist())),
            input_band_ms=copies[0],
            input_overall_ms=copies[1],
            output_band_ms=copies[2] if has_output else None,
            output_overall_ms=copies[3] if has_output else None,
            level_gain_db=sound.level_gain_db,
            bypass=sound.bypass,
            limited_blocks=sound.limited_blocks,
            limiter_reduction_db=sound.limiter_reduction_db,
        )


@dataclass(frozen=True)
class Sound:
    """What level matching, the bypass and the limiter stand at (see ``Published``)."""

    level_gain_db: float
    bypass: float
    limited_blocks: int
    limiter_reduction_db: float


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
