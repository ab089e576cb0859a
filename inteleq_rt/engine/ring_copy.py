"""The audio thread's compiled copy into a ring (ring.py), apart from it: ring.py stays free
of numba, for the classifier's process, which only reads rings and never loads numba."""

from __future__ import annotations

from numba import float32, int64, void

from .jit import njit


@njit(void(float32[:, :], float32[:, ::1], int64), cache=True, nogil=True)
def copy_into_ring(block, ring, start):
    """Copy ``block`` into ``ring`` from frame ``start``, wrapping (a ring of no frames: no
    copy), for a compiled writer; the ring's counter is the caller's to move after."""
    size = ring.shape[0]
    if size == 0:
        return
    for n in range(block.shape[0]):
        slot = (start + n) % size
        for c in range(block.shape[1]):
            ring[slot, c] = block[n, c]
