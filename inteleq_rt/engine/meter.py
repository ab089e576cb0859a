"""The output's band levels, measured beside the audio path: what serves only the eyes (the
live panel's output meters, a live report's output levels) leaves the audio thread.

The audio thread only copies each output block into a ring, in one compiled call (the output
analysis it replaces took ~10% of a 256-frame block, README's profile; the ring's own Python
copy, slices and all, took 11.7 us of it paced, cold caches included). Whoever reads the levels (the
display's thread, a report's sampling) analyses what arrived since the last read, with the
same filterbank and the same state, so the levels are those per-block analysis gives. A
reader that falls more than half the ring behind skips what it lost (counted).
"""

from __future__ import annotations

import threading

import numpy as np
from numba import float32, int64, void

from .filterbank import FilterBank
from .jit import njit
from .ring import InputRing, RingReader


@njit(void(float32[:, :], float32[:, ::1], int64), cache=True, nogil=True)
def _copy_into_ring(block, ring, start):
    size = ring.shape[0]
    for n in range(block.shape[0]):
        slot = (start + n) % size
        for c in range(block.shape[1]):
            ring[slot, c] = block[n, c]


class OutputMeter:
    """``write`` is the audio thread's; ``levels()`` is for any other thread."""

    def __init__(self, bank: FilterBank, frames: int, channels: int, max_block: int) -> None:
        self.bank = bank
        self.ring = InputRing(frames, channels, max_block)
        self._reader = RingReader(self.ring)
        self._lock = threading.Lock()  # readers only: the audio thread never takes it

    def write(self, block: np.ndarray) -> None:
        """Keep one output block (the audio thread's only work for the meters)."""
        ring = self.ring
        _copy_into_ring(block, ring.buffer, ring.written % ring.buffer.shape[0])
        ring.advance(block.shape[0])  # after the audio it counts, as InputRing.write does

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Band and overall mean squares (channels x bands, channels) of the output so far."""
        with self._lock:
            for audio in self._reader.new_audio():
                self.bank.process(audio)
            return self.bank.band_ms.copy(), self.bank.overall_ms.copy()
