"""The ceiling: a look-ahead peak limiter after the EQ and plugins, so no output clips.

pedalboard's Limiter (JUCE's) has no look-ahead and lets peaks through above its threshold
(benchmarks/sound_check.py measures it), so the limiter is written here. Per sample, the gain
each frame needs (ceiling / its peak over channels, at most 1) enters a sliding minimum over
the look-ahead window plus one frame; a release lets that minimum recover toward 1; and the
gain applied is the mean of the last window of those values. Every value in that mean was
computed over a window holding the delayed frame it is applied to, so the applied gain never
exceeds what that frame needs: the sample peak holds the ceiling (true peak, between samples,
may exceed it by a fraction of a dB; the benchmark measures by how much). The gain moves
as a ramp as long as the look-ahead, so a peak is met smoothly, not clipped.

The output is late by the look-ahead: offline renders compensate it and live runs report it,
as they do a plugin's latency.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, from_dtype, int64, void

from .jit import njit

LOOKAHEAD_S = 0.0015
RELEASE_S = 0.08

# the kernel's state between blocks, one record
STATE = np.dtype([("position", np.int64), ("released", np.float64), ("box_sum", np.float64),
                  ("queue_head", np.int64), ("queue_size", np.int64), ("deepest", np.float64),
                  ("blocks", np.int64), ("limited_blocks", np.int64)])


@njit(void(float32[:, :], float64, float64, float32[:, ::1], float64[::1], float64[::1],
           int64[::1], from_dtype(STATE)[::1]), cache=True, nogil=True)
def limit_block(block, ceiling, release, delay, box, queue_gain, queue_time, state):
    """Limit ``block`` in place (delayed by len(delay) frames), counting it (and whether it
    was limited) in ``state``."""
    window = box.shape[0]  # the look-ahead plus the frame itself
    latency = delay.shape[0]
    channels = block.shape[1]
    kept = state[0]
    position, recovered, total = kept.position, kept.released, kept.box_sum
    head, size, deepest = kept.queue_head, kept.queue_size, kept.deepest
    limited = False
    for n in range(block.shape[0]):
        peak = 0.0
        for c in range(channels):
            peak = max(peak, abs(float64(block[n, c])))
        needed = ceiling / peak if peak > ceiling else 1.0
        # sliding minimum of ``needed`` over the last ``window`` frames (a monotonic queue)
        if size > 0 and queue_time[head] <= position - window:
            head = (head + 1) % window
            size -= 1
        while size > 0 and queue_gain[(head + size - 1) % window] >= needed:
            size -= 1
        queue_gain[(head + size) % window] = needed
        queue_time[(head + size) % window] = position
        size += 1
        lowest = queue_gain[head]
        recovered = min(lowest, 1.0 - (1.0 - recovered) * release)
        slot = position % window
        total += recovered - box[slot]
        box[slot] = recovered
        gain = min(total / window, 1.0)
        # the frame that entered ``latency`` frames ago leaves now, scaled: it lies in the
        # window of every value the mean holds
        delayed = position % latency
        for c in range(channels):
            x = float64(delay[delayed, c]) * gain
            delay[delayed, c] = block[n, c]
            x = min(max(x, -ceiling), ceiling)  # float rounding only: the gain already holds it
            block[n, c] = np.float32(x)
        if gain < 1.0:
            limited = True
            deepest = min(deepest, gain)
        position += 1
    kept.position, kept.released, kept.box_sum = position, recovered, total
    kept.queue_head, kept.queue_size, kept.deepest = head, size, deepest
    kept.blocks += 1
    if limited:
        kept.limited_blocks += 1


class Limiter:
    """A look-ahead limiter holding a sample-peak ceiling (see the module's docstring)."""

    def __init__(self, ceiling_db: float, sample_rate: float, channels: int) -> None:
        """``ceiling_db`` is checked by the engine's configuration (LIMITS["ceiling"])."""
        # float32 output: keep the ceiling a hair inside so rounding cannot cross it
        self._ceiling = 10.0 ** (ceiling_db / 20.0) * (1.0 - 1e-6)
        self.latency = max(1, int(round(LOOKAHEAD_S * sample_rate)))
        window = self.latency + 1
        self._release = math.exp(-1.0 / (RELEASE_S * sample_rate))
        self._delay = np.zeros((self.latency, channels), np.float32)
        self._box = np.ones(window)
        self._queue_gain = np.ones(window)
        self._queue_time = np.zeros(window, np.int64)
        self._state = np.zeros(1, STATE)
        self._state[0] = (0, 1.0, float(window), 0, 0, 1.0, 0, 0)
        # what ``limit_block`` takes after the block (all updated in place): for a caller that fuses
        # the limiter with other per-sample work in one compiled call (the engine's back end)
        self.kernel_arrays = (self._ceiling, self._release, self._delay, self._box, self._queue_gain,
                              self._queue_time, self._state)

    def process(self, block: np.ndarray) -> None:
        """Limit ``block`` (frames, channels) in place; it comes out ``latency`` frames late."""
        limit_block(block, *self.kernel_arrays)

    @property
    def blocks(self) -> int:
        return int(self._state[0]["blocks"])

    @property
    def limited_blocks(self) -> int:
        """Blocks in which the limiter took gain away."""
        return int(self._state[0]["limited_blocks"])

    @property
    def deepest_reduction_db(self) -> float:
        """The most gain the limiter has taken away since the start (dB, >= 0)."""
        return max(0.0, -20.0 * math.log10(self._state[0]["deepest"]))
