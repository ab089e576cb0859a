"""What the engine is measured against, in the same run:

* ``ScipyBaseline``: the same band analysis and EQ done per block with ``scipy.signal``
  (``sosfilt`` carrying ``zi`` for the band and EQ biquads, ``lfilter`` for the
  mean-square integrators): what the engine would cost written the obvious way.
* ``pedalboard_baseline``: the preset's pedalboard chain alone, no analysis.
* ``copy_baseline``: copying the block, the physical floor of any callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import signal

from ..engine.eq import build_chain
from ..engine.filterbank import design_bands
from ..engine.presets import EqFilter

BASELINES = ("scipy_sosfilt", "pedalboard_chain", "copy")
Process = Callable[[np.ndarray, np.ndarray], None]


def biquad_sos(f: EqFilter, sample_rate: float) -> np.ndarray:
    """One EQ filter as a second-order section (RBJ Audio EQ Cookbook, the designs pedalboard's
    JUCE filters follow), so the scipy baseline applies the same EQ as the engine."""
    a = 10.0 ** (f.gain_db / 40.0)
    w0 = 2.0 * math.pi * f.frequency_hz / sample_rate
    cos, alpha = math.cos(w0), math.sin(w0) / (2.0 * f.q)
    if f.kind == "peak":
        b = (1 + alpha * a, -2 * cos, 1 - alpha * a)
        den = (1 + alpha / a, -2 * cos, 1 - alpha / a)
    else:
        root = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if f.kind == "low_shelf" else -1.0
        b = (a * ((a + 1) - sign * (a - 1) * cos + root), sign * 2 * a * ((a - 1) - sign * (a + 1) * cos),
             a * ((a + 1) - sign * (a - 1) * cos - root))
        den = ((a + 1) + sign * (a - 1) * cos + root, -sign * 2 * ((a - 1) + sign * (a + 1) * cos),
               (a + 1) + sign * (a - 1) * cos - root)
    return np.array([*b, *den]) / den[0]


class ScipyBaseline:
    """The engine's input analysis and preset EQ, per block with scipy.signal."""

    def __init__(self, bands, filters: tuple[EqFilter, ...], sample_rate: float, channels: int,
                 rms_window_s: float) -> None:
        self.band_sos, _ = design_bands(bands, sample_rate)
        self.band_zi = np.zeros((len(bands), self.band_sos.shape[1], 2, channels))
        alpha = 1.0 - math.exp(-1.0 / (rms_window_s * sample_rate))
        self.integrator = (np.array([alpha]), np.array([1.0, alpha - 1.0]))
        self.ms_zi = np.zeros((len(bands) + 1, 1, channels))
        self.band_ms = np.zeros((len(bands), channels))
        self.eq_sos = np.array([biquad_sos(f, sample_rate) for f in filters]).reshape(-1, 6)
        self.eq_zi = np.zeros((len(self.eq_sos), 2, channels))

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        b, a = self.integrator
        for index, sos in enumerate(self.band_sos):
            band, self.band_zi[index] = signal.sosfilt(sos, block, axis=0, zi=self.band_zi[index])
            ms, self.ms_zi[index] = signal.lfilter(b, a, band * band, axis=0, zi=self.ms_zi[index])
            self.band_ms[index] = ms[-1]
        _, self.ms_zi[-1] = signal.lfilter(b, a, block * block, axis=0, zi=self.ms_zi[-1])
        if len(self.eq_sos):
            out[:], self.eq_zi = signal.sosfilt(self.eq_sos, block, axis=0, zi=self.eq_zi)
        else:
            out[:] = block


def pedalboard_baseline(filters: tuple[EqFilter, ...], sample_rate: float) -> Process:
    board, plugins = build_chain(filters)
    for plugin, f in zip(plugins, filters):
        plugin.gain_db = f.gain_db

    def process(block: np.ndarray, out: np.ndarray) -> None:
        out[:] = board.process(block, sample_rate, buffer_size=block.shape[0], reset=False)

    return process


def copy_baseline(block: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, block)
