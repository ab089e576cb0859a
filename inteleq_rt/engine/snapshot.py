"""What the engine publishes at the end of each block, and the consistent copy readers get.

The audio thread writes ``Published``'s arrays (allocated once) between two increments of the
engine's sequence counter; ``Engine.snapshot`` copies them and retries until the counter
was even and unchanged across the copy, and returns a ``Snapshot``.
"""

from __future__ import annotations

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
