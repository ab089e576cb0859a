"""A stream kept for a reader beside the audio path (the genre classifier, range mode's
follower, the live output meters), and one reader's place in it (``RingReader``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class InputRing:
    """The input stream kept for a reader beside the audio path (single producer, single reader).

    The audio thread only copies each block in and then advances ``written``; the reader
    copies out what is new and, if the writer lapped it meanwhile, learns that it lost audio.
    The newest ``max_block`` frames of free space may be mid-write at any moment, so audio
    that close to being overwritten counts as lost rather than risking a torn copy.

    ``buffer`` and ``counter`` may be views of shared memory, so the reader can be another
    process: the counter is one aligned int64, written after the audio it counts.
    """

    def __init__(self, frames: int, channels: int, max_block: int, buffer: np.ndarray | None = None,
                 counter: np.ndarray | None = None) -> None:
        self.buffer = np.zeros((frames, channels), dtype=np.float32) if buffer is None else buffer
        self.max_block = max_block
        self._counter = np.zeros(1, dtype=np.int64) if counter is None else counter

    @property
    def written(self) -> int:
        """Total frames ever written."""
        return int(self._counter[0])

    def write(self, block: np.ndarray) -> None:
        size, frames = self.buffer.shape[0], block.shape[0]
        start = self.written % size
        first = min(frames, size - start)
        self.buffer[start : start + first] = block[:first]
        self.buffer[: frames - first] = block[first:]
        self.advance(frames)

    def advance(self, frames: int) -> None:
        """Count ``frames`` more as written: only once they are in ``buffer`` (a writer that
        copies them itself, in compiled code, calls this after)."""
        self._counter[0] += frames

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


class RingReader:
    """One reader's place in a ring, from the frames written when it starts (old audio is not
    its): ``new_audio()`` yields what arrived since the last call, in chunks of up to half the
    ring (each valid until the next), and counts what the writer lapped."""

    def __init__(self, ring: InputRing) -> None:
        self.ring = ring
        self.position = ring.written
        self.lost_frames = 0
        self._scratch = np.zeros((ring.buffer.shape[0] // 2, ring.buffer.shape[1]), dtype=np.float32)

    def new_audio(self) -> Iterator[np.ndarray]:
        while True:
            frames, self.position, lost = self.ring.read(self.position, self._scratch)
            self.lost_frames += lost
            if frames == 0:
                return
            yield self._scratch[:frames]
