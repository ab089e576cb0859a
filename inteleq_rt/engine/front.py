"""The start of every block: conditioning the input, the copy kept for the classifier, and
the input analysis, as compiled kernels.

Conditioning turns non-finite samples into silence and clamps absurd levels, so one bad
sample cannot poison filter state for the rest of a stream. Without pre plugins nothing sits
between it and the analysis, so ``front_end`` does all three in one call from Python instead
of three (the engine's profile measured the crossings).
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, int64

from .filterbank import analyze_block
from .jit import njit
from .ring_copy import copy_into_ring

# Input beyond +/- this (+90 dBFS) is clamped: far above any real signal, and low enough that
# squares and filter states stay finite in float32.
INPUT_LIMIT = 32768.0


@njit(int64(float32[:, :], float32[:, ::1], float32), cache=True, nogil=True)
def condition(block, clean, limit):
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


def conditioned(block: np.ndarray) -> np.ndarray:
    """A copy of ``block`` as the engine hears an input (a whole file's, a reference's)."""
    clean = np.empty(block.shape, np.float32)
    condition(block, clean, INPUT_LIMIT)
    return clean


def as_heard(block: np.ndarray) -> np.ndarray:
    """``block`` as the engine hears it: itself when nothing in it needs conditioning (the
    usual case, so no copy), else a conditioned copy. (A NaN makes the peak NaN, which fails
    the comparison.)"""
    return block if not block.size or np.abs(block).max() <= INPUT_LIMIT else conditioned(block)


@njit(int64(float32[:, :], float32[:, ::1], float32, float32[:, ::1], int64), cache=True, nogil=True)
def condition_into_ring(raw, clean, limit, ring, ring_start):
    """Conditioning and the ring copy (into ``ring`` from ``ring_start``, wrapping; a ring of
    no frames: none) of one block; returns the samples repaired. The ring's counter is the
    caller's to move, after this returns."""
    repaired = condition(raw, clean, limit)
    copy_into_ring(clean, ring, ring_start)
    return repaired


@njit(int64(float32[:, :], float32[:, ::1], float32, float32[:, ::1], int64, float64[:, :, ::1],
            float64[:, :, :, ::1], float64, float64[:, ::1], float64[::1]), cache=True, nogil=True)
def front_end(raw, clean, limit, ring, ring_start, coefficients, state, alpha, band_ms, overall_ms):
    """``condition_into_ring``, then the input analysis (``FilterBank.kernel_arrays``)."""
    repaired = condition_into_ring(raw, clean, limit, ring, ring_start)
    analyze_block(clean, coefficients, state, alpha, band_ms, overall_ms)
    return repaired
