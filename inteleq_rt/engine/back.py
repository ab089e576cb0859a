"""The end of every block, after the EQ: level matching, the bypass crossfade, the post
plugins, the ceiling, and the output's analysis (live: only the copy kept for its meter).

Without post plugins nothing sits between level matching and the meter's copy, so
``back_end`` runs their four kernels in one call from Python instead of four (with their
Python around them), as front.py does at the block's start: paced 256-frame blocks spent 54
us in those stages apart and 50 fused, cold caches included (p50, same sitting, three runs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import float32, float64, from_dtype, int64, void

from .eq import Bypass, bypass_block
from .filterbank import FilterBank
from .jit import njit
from .limiter import STATE as LIMITER_STATE
from .limiter import Limiter
from .limiter import limit_block
from .loudness import SETTINGS as MATCH_SETTINGS
from .loudness import STATE as MATCH_STATE
from .loudness import LevelMatch, match_block
from .meter import OutputMeter
from .plugins import PluginInsert
from .ring_copy import copy_into_ring
from .snapshot import Stage


@njit(void(float32[:, :], float32[:, :],
            float64[:, ::1], float64[:, :, ::1], float64[:, :, ::1], from_dtype(MATCH_SETTINGS)[::1],
            from_dtype(MATCH_STATE)[::1],
            float64[::1],
            float64, float64, float32[:, ::1], float64[::1], float64[::1], int64[::1], from_dtype(LIMITER_STATE)[::1],
            float32[:, ::1], int64), cache=True, nogil=True)
def back_end(heard, out, sections, heard_state, out_state, settings, match_state, bypass_state,
             ceiling, release, delay, box, queue_gain, queue_time, limiter_state, ring, ring_start):
    """Level matching (``LevelMatch.kernel_arrays``), the bypass (``Bypass.state``), the
    limiter (``Limiter.kernel_arrays``), then the copy into ``ring`` from ``ring_start`` (a
    ring of no frames: none; its counter is the caller's to move)."""
    match_block(heard, out, sections, heard_state, out_state, settings, match_state)
    bypass_block(heard, out, bypass_state)
    limit_block(out, ceiling, release, delay, box, queue_gain, queue_time, limiter_state)
    copy_into_ring(out, ring, ring_start)


def back_stages(level: LevelMatch | None, bypass: Bypass, post_plugins: Sequence[PluginInsert],
                limiter: Limiter | None, output: FilterBank | None, meter: OutputMeter | None,
                ) -> list[tuple[str, Stage | None]]:
    """The block's end as named stages (None: off), for the engine's path: ``back_end`` where
    level matching and the limiter are on and no post plugins sit between, else one stage
    per part; then the output's analysis when it runs in the block (no meter beside)."""
    analysis = ("output analysis", (lambda _raw, _clean, out: output.process(out))
                if output is not None and meter is None else None)
    if level is not None and limiter is not None and not post_plugins:
        arrays = (*level.kernel_arrays, bypass.state, *limiter.kernel_arrays)
        if meter is None:
            no_ring = np.zeros((0, 1), np.float32)  # no frames: nothing is copied
            return [("back end", lambda _raw, clean, out: back_end(clean, out, *arrays, no_ring, 0)), analysis]
        ring = meter.ring

        def fused(_raw: np.ndarray, clean: np.ndarray, out: np.ndarray) -> None:
            back_end(clean, out, *arrays, ring.buffer, ring.written % ring.buffer.shape[0])
            ring.advance(out.shape[0])  # after the audio it counts, as InputRing.write does

        return [("back end", fused), analysis]

    def run_post_plugins(_raw: np.ndarray, _clean: np.ndarray, out: np.ndarray) -> None:
        for plugin in post_plugins:
            plugin.process(out, out)

    return [
        ("level match", (lambda _raw, clean, out: level.process(clean, out)) if level is not None else None),
        ("bypass", lambda _raw, clean, out: bypass.process(clean, out)),
        ("post plugins", run_post_plugins if post_plugins else None),
        ("limiter", (lambda _raw, _clean, out: limiter.process(out)) if limiter is not None else None),
        ("output ring", (lambda _raw, _clean, out: meter.write(out)) if meter is not None else None),
        analysis,
    ]
