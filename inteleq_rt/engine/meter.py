"""Band levels measured beside the audio path: what serves only the eyes (the live panel's
meters, a live report's levels) leaves the audio thread.

The output: the audio thread only copies each output block into a ring, in one compiled
call (the output analysis it replaces took ~10% of a 256-frame block, README's profile; the
ring's own Python copy, slices and all, took 11.7 us of it paced, cold caches included).
The input, where nothing in the block needs its band levels (range and preset modes; match
mode steers by them): read from the ring the classifier and range mode's follower already
read, so the audio thread does nothing for it. Whoever reads the levels (the display's
thread, a report's sampling) analyses what arrived since the last read, with the same
filterbank and the same state, so the levels are those per-block analysis gives. A reader
that falls more than half the ring behind skips what it lost (counted).
"""

from __future__ import annotations

import threading

import numpy as np

from .config import EngineConfig
from .filterbank import FilterBank
from .ring import InputRing, RingReader
from .ring_copy import copy_into_ring


class BandMeter:
    """``levels()`` of what ``ring`` holds, for any thread but the audio thread's."""

    def __init__(self, bank: FilterBank, ring: InputRing) -> None:
        self.bank = bank
        self.ring = ring
        self._reader = RingReader(ring)
        self._lock = threading.Lock()  # readers only: the audio thread never takes it

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Band and overall mean squares (channels x bands, channels) of the ring's audio so far."""
        with self._lock:
            for audio in self._reader.new_audio():
                self.bank.process(audio)
            return self.bank.band_ms.copy(), self.bank.overall_ms.copy()


def output_meter(config: EngineConfig, bank: FilterBank | None) -> OutputMeter | None:
    """Live, the output's levels measured beside the audio path from a ring of their own;
    None: analysed in the block (offline), or not at all."""
    if bank is None or not config.meters_beside:
        return None
    return OutputMeter(bank, int(config.output_meter_s * config.sample_rate), config.channels, config.max_block_size)


def input_meter(config: EngineConfig, bank: FilterBank, ring: InputRing | None) -> BandMeter | None:
    """Live, the input's levels read from ``ring`` (the classifier's) beside the audio path,
    where nothing in the block needs them; None: analysed in the block (match mode steers by
    them; offline nothing reads a meter; without a ring there is nothing to read)."""
    if ring is None or not config.meters_beside or not config.analyze_input or config.mode == "match":
        return None
    return BandMeter(bank, ring)


class OutputMeter(BandMeter):
    """A meter over a ring of its own, which ``write`` (the audio thread's) fills."""

    def __init__(self, bank: FilterBank, frames: int, channels: int, max_block: int) -> None:
        super().__init__(bank, InputRing(frames, channels, max_block))

    def write(self, block: np.ndarray) -> None:
        """Keep one output block (the audio thread's only work for the meters)."""
        ring = self.ring
        copy_into_ring(block, ring.buffer, ring.written % ring.buffer.shape[0])
        ring.advance(block.shape[0])  # after the audio it counts, as InputRing.write does
