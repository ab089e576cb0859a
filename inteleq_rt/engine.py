"""The streaming engine: one object that turns an input block into an output block.

Per block: condition the input (non-finite samples become silence, absurd levels are
clamped, so one bad sample cannot poison filter state for the rest of a stream), analyse it
(filterbank), pick up a posted genre decision, equalize
(crossfading or steering), analyse the output, publish a snapshot. Everything the block
touches is allocated here, up front. Other threads talk to the engine through two doors
that never make the audio thread wait: ``request_genre``/``set_amount`` (single-slot
mailboxes, read at the next block) and ``snapshot`` (a sequence-checked copy the reader
retries, so a torn read is never returned).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import float32, int64, njit

from .config import MIN_BLOCK_SIZE, EngineConfig
from .eq import MatchEQ, PresetEQ
from .features import feature_vector
from .filterbank import FilterBank
from .plugins import PluginInsert
from .presets import EqFilter, Preset, load_presets


# Input beyond +/- this (+90 dBFS) is clamped: far above any real signal, and low enough that
# squares and filter states stay finite in float32.
INPUT_LIMIT = 32768.0


@njit(int64(float32[:, :], float32[:, ::1], float32), cache=True, nogil=True)
def _condition(block, clean, limit):
    """Copy ``block`` into ``clean`` with NaN/Inf as 0 and magnitudes clamped to ``limit``;
    returns how many samples were repaired."""
    repaired = 0
    for n in range(block.shape[0]):
        for c in range(block.shape[1]):
            s = block[n, c]
            if not math.isfinite(s):
                s = np.float32(0.0)
                repaired += 1
            elif abs(s) > limit:
                s = np.float32(math.copysign(limit, s))
                repaired += 1
            clean[n, c] = s
    return repaired


class InputRing:
    """The input stream kept for a reader beside the audio path (single producer, single reader).

    The audio thread only copies each block in and then advances ``written``; the reader
    copies out what is new and, if the writer lapped it meanwhile, learns that it lost audio.
    The newest ``max_block`` frames of free space may be mid-write at any moment, so audio
    that close to being overwritten counts as lost rather than risking a torn copy.
    """

    def __init__(self, frames: int, channels: int, max_block: int) -> None:
        self.buffer = np.zeros((frames, channels), dtype=np.float32)
        self.max_block = max_block
        self.written = 0  # total frames ever written; one int assignment, atomic under the GIL

    def write(self, block: np.ndarray) -> None:
        size, frames = self.buffer.shape[0], block.shape[0]
        start = self.written % size
        first = min(frames, size - start)
        self.buffer[start : start + first] = block[:first]
        self.buffer[: frames - first] = block[first:]
        self.written += frames

    def _oldest_safe(self) -> int:
        return self.written + self.max_block - self.buffer.shape[0]

    def read(self, position: int, out: np.ndarray) -> tuple[int, int, int]:
        """Copy new frames from ``position`` into ``out``: (frames copied, next position, frames lost).

        A reader that fell too far behind skips to the oldest audio safely held, and a copy
        the writer may have reached meanwhile is dropped; both count as lost.
        """
        size = self.buffer.shape[0]
        lost = max(0, self._oldest_safe() - position)
        position += lost
        frames = min(self.written - position, out.shape[0])
        start = position % size
        first = min(frames, size - start)
        out[:first] = self.buffer[start : start + first]
        out[first:frames] = self.buffer[: frames - first]
        if self._oldest_safe() > position:  # the writer came too close during the copy
            return 0, position + frames, lost + frames
        return frames, position + frames, lost


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

    def input_features(self) -> np.ndarray:
        return feature_vector(self.input_band_ms, self.input_overall_ms)


class Engine:
    """Analysis and EQ of one stream; ``process`` is safe to call from an audio callback."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        presets: dict[str, Preset] | None = None,
        genre: str = "flat",
        pre_plugins: Sequence[PluginInsert] = (),
        post_plugins: Sequence[PluginInsert] = (),
    ) -> None:
        """``pre_plugins`` run before the analysis and EQ (the classifier hears them),
        ``post_plugins`` after the EQ (the output analysis hears them)."""
        self.config = config = config or EngineConfig()
        self.presets = presets if presets is not None else load_presets(config.presets_dir)
        self._check_genre(genre)
        rate, channels = config.sample_rate, config.channels
        self.input_analysis = FilterBank(config.bands, rate, channels, config.rms_window_s)
        self.output_analysis = (
            FilterBank(config.bands, rate, channels, config.rms_window_s) if config.analyze_output else None
        )
        if config.mode == "match":
            self.eq: PresetEQ | MatchEQ = MatchEQ(self.presets, config, genre, config.bands)
        else:
            self.eq = PresetEQ(self.presets, config, genre)
        self._requested_genre = genre
        self.pre_plugins, self.post_plugins = tuple(pre_plugins), tuple(post_plugins)
        ring_frames = int(config.input_ring_s * rate)
        self.input_ring = (InputRing(ring_frames, channels, config.max_block_size)
                           if ring_frames > 2 * config.max_block_size else None)
        self._clean = np.zeros((config.max_block_size, channels), dtype=np.float32)
        self.repaired_samples = 0  # NaN, Inf or beyond INPUT_LIMIT, since the start
        self.blocks = 0
        self.frames = 0
        self._sequence = 0
        bands = len(config.bands)
        self._published_input = (np.zeros((channels, bands)), np.zeros(channels))
        self._published_output = (np.zeros((channels, bands)), np.zeros(channels))
        self._published_frames = 0
        self._warm_up()

    def _check_genre(self, genre: str) -> None:
        if genre not in self.presets:
            raise ValueError(f"unknown genre {genre!r}; available: {', '.join(sorted(self.presets))}")

    def _warm_up(self) -> None:
        """Let every chain meet a full-size block before the audio thread does (JUCE prepares
        its buffers on first use); numba kernels are compiled eagerly at import."""
        self.eq.warm_up(np.zeros((self.config.max_block_size, self.config.channels), dtype=np.float32))

    # -- doors for other threads ------------------------------------------------------------
    def request_genre(self, genre: str) -> None:
        """Ask for a genre; the audio thread starts the switch at its next block."""
        self._check_genre(genre)
        self._requested_genre = genre

    def request_blend(self, weights: dict[str, float] | None) -> None:
        """Match mode: steer toward the weight-averaged targets of these genres (None: stop)."""
        if not isinstance(self.eq, MatchEQ):
            raise ValueError("a blend of targets needs match mode")
        self.eq.request_blend(weights)

    def set_amount(self, amount: float) -> None:
        """Scale every EQ gain (0..1); the change is ramped, never stepped."""
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"amount {amount:g} is outside 0..1")
        self.eq.amount = float(amount)

    @property
    def genre(self) -> str:
        """The genre whose EQ is (or is becoming) audible."""
        return self.eq.target

    def snapshot(self) -> Snapshot:
        """A consistent copy of the latest published state (retries while a block publishes)."""
        while True:
            before = self._sequence
            if before % 2 == 0:
                copies = [a.copy() for a in (*self._published_input, *self._published_output)]
                frames = self._published_frames
                if self._sequence == before:
                    break
            time.sleep(0)
        has_output = self.output_analysis is not None
        return Snapshot(
            time_s=frames / self.config.sample_rate,
            blocks=self.blocks,
            genre=self.eq.target,
            crossfade=self.eq.fade_progress,
            eq_gains=self.eq.gains(),
            input_band_ms=copies[0],
            input_overall_ms=copies[1],
            output_band_ms=copies[2] if has_output else None,
            output_overall_ms=copies[3] if has_output else None,
        )

    # -- the audio path ---------------------------------------------------------------------
    def check_block(self, frames: int) -> None:
        if not max(MIN_BLOCK_SIZE, self.config.channels + 1) <= frames <= self.config.max_block_size:
            raise ValueError(
                f"block of {frames} frames: the engine takes {max(MIN_BLOCK_SIZE, self.config.channels + 1)}"
                f"..{self.config.max_block_size} frames per block"
            )

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Equalize one float32 block (frames, channels) into ``out`` of the same shape."""
        self.check_block(block.shape[0])
        if block.shape[1] != self.config.channels:
            raise ValueError(f"block of {block.shape[1]} channels: the engine takes {self.config.channels}")
        clean = self._clean[: block.shape[0]]
        self.repaired_samples += _condition(block, clean, INPUT_LIMIT)
        block = clean
        for plugin in self.pre_plugins:
            plugin.process(block, block)
        if self.input_ring is not None:
            self.input_ring.write(block)
        self.input_analysis.process(block)
        requested = self._requested_genre
        if requested != self.eq.target:
            self.eq.select(requested)  # refused mid-fade: tried again next block
        self.eq.process(block, out, self.input_analysis)
        for plugin in self.post_plugins:
            plugin.process(out, out)
        if self.output_analysis is not None:
            self.output_analysis.process(out)
        self.blocks += 1
        self.frames += block.shape[0]
        self._publish()

    def _publish(self) -> None:
        self._sequence += 1
        self._published_input[0][:] = self.input_analysis.band_ms
        self._published_input[1][:] = self.input_analysis.overall_ms
        if self.output_analysis is not None:
            self._published_output[0][:] = self.output_analysis.band_ms
            self._published_output[1][:] = self.output_analysis.overall_ms
        self._published_frames = self.frames
        self._sequence += 1
