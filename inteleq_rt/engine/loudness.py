"""Loudness as ITU-R BS.1770: K-weighting, level matching on the audio path, and an
integrated (gated) meter for whole-track renders.

An EQ that adds level sounds "better" whatever it does, so by default the output's loudness
follows the input's: ``LevelMatch`` K-weights the input and the equalized output (before the
limiter), integrates both over seconds on the same blocks (blocks of near-silence are skipped,
so the gain holds between songs), and ramps the output's gain toward their difference.
``IntegratedLoudness`` is the standard's gated programme loudness (LUFS), for whole files.
Both use the same K-weighting kernel, so what a render measures is what the stream matches.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, from_dtype, void

from .jit import njit

# BS.1770-4 K-weighting: a high shelf (the head's acoustic effect) then a high-pass (RLB),
# as analog prototypes mapped to any sample rate by the bilinear transform; at 48 kHz these
# give the coefficients printed in the standard.
_SHELF_HZ, _SHELF_GAIN_DB, _SHELF_Q, _SHELF_BAND_EXPONENT = 1681.974450955533, 3.999843853973347, 0.7071752369554196, 0.4996667741545416
_HIGHPASS_HZ, _HIGHPASS_Q = 38.13547087602444, 0.5003270373238773
LOUDNESS_OFFSET_DB = -0.691  # the standard's constant: a 1 kHz sine at 0 dBFS reads -3.01 LUFS
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# Level matching ignores blocks of input quieter than this (the silence between songs, fades'
# tails), so its gain holds through them instead of chasing noise.
MATCH_GATE_LUFS = -60.0
MATCH_TIME_S = 3.0  # how slowly the matched gain follows the loudness difference
MAX_MATCH_DB = 12.0  # the most level matching may add or take away


def k_weighting(sample_rate: float) -> np.ndarray:
    """The two K-weighting biquads as rows (b0, b1, b2, a1, a2), for ``sample_rate``."""
    k = math.tan(math.pi * _SHELF_HZ / sample_rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh ** _SHELF_BAND_EXPONENT
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [(vh + vb * k / _SHELF_Q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / _SHELF_Q + k * k) / a0,
             2.0 * (k * k - 1.0) / a0, (1.0 - k / _SHELF_Q + k * k) / a0]
    k = math.tan(math.pi * _HIGHPASS_HZ / sample_rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


@njit(float64(float32[:, :], float64[:, ::1], float64[:, :, ::1]), cache=True, nogil=True)
def _weighted_energy(block, sections, state):
    """Sum over frames and channels of the K-weighted signal's square (BS.1770 weighs the
    front channels 1); ``state`` (channels, sections, 2) carries the filters across blocks.
    Channels are the inner loop: their filters are independent, so the CPU overlaps them
    (1.75x faster than a channel at a time)."""
    total = 0.0
    for n in range(block.shape[0]):
        for c in range(block.shape[1]):
            x = float64(block[n, c])
            for s in range(2):  # K-weighting's two sections (a constant count unrolls)
                b0, b1, b2, a1, a2 = sections[s, 0], sections[s, 1], sections[s, 2], sections[s, 3], sections[s, 4]
                y = b0 * x + state[c, s, 0]  # transposed direct form II
                state[c, s, 0] = b1 * x - a1 * y + state[c, s, 1]
                state[c, s, 1] = b2 * x - a2 * y
                x = y
            total += x * x
    return total


# LevelMatch's settings and state, one record each for its kernel
SETTINGS = np.dtype([("sample_rate", np.float64), ("time_s", np.float64), ("slew_db_per_s", np.float64),
                     ("gate_mean_square", np.float64), ("tracking", np.bool_)])
STATE = np.dtype([("input_ms", np.float64), ("output_ms", np.float64), ("goal_db", np.float64),
                  ("gain_db", np.float64), ("gain", np.float64)])


@njit(void(float32[:, :], float32[:, :], float64[:, ::1], float64[:, :, ::1], float64[:, :, ::1],
           from_dtype(SETTINGS)[::1], from_dtype(STATE)[::1]), cache=True, nogil=True)
def match_block(heard, out, sections, heard_state, out_state, settings, state):
    """One block of level matching in one call: K-weighted mean squares of ``heard`` and
    ``out``, their gated slow integrals, the slew-limited gain toward their difference, and
    that gain applied to ``out`` as a ramp across the block."""
    frames = out.shape[0]
    given, kept = settings[0], state[0]
    if given.tracking:
        heard_ms = _weighted_energy(heard, sections, heard_state) / frames
        out_ms = _weighted_energy(out, sections, out_state) / frames
        if heard_ms > given.gate_mean_square:
            if kept.input_ms == 0.0 or kept.output_ms == 0.0:
                kept.input_ms, kept.output_ms = heard_ms, out_ms
            else:
                weight = 1.0 - math.exp(-frames / (given.time_s * given.sample_rate))
                kept.input_ms += weight * (heard_ms - kept.input_ms)
                kept.output_ms += weight * (out_ms - kept.output_ms)
            if kept.output_ms > 0.0:
                difference = 10.0 * math.log10(kept.input_ms / kept.output_ms)
                kept.goal_db = min(max(difference, -MAX_MATCH_DB), MAX_MATCH_DB)
        limit = given.slew_db_per_s * frames / given.sample_rate
        kept.gain_db += min(max(kept.goal_db - kept.gain_db, -limit), limit)
    start, end = kept.gain, 10.0 ** (kept.gain_db / 20.0)
    kept.gain = end
    if start == 1.0 and end == 1.0:
        return
    step = (end - start) / frames
    for n in range(frames):
        gain = start + step * (n + 1)
        for c in range(out.shape[1]):
            out[n, c] = np.float32(out[n, c] * gain)


def lufs(mean_square: float) -> float:
    """Loudness of a K-weighted, channel-summed mean square (-inf for silence)."""
    return LOUDNESS_OFFSET_DB + 10.0 * math.log10(mean_square) if mean_square > 0 else -math.inf


class LevelMatch:
    """Keeps the equalized output as loud as the input: a slow, gated, ramped gain.

    ``hold(gain_db)`` fixes the gain instead (a whole-track render knows it in advance)."""

    def __init__(self, sample_rate: float, channels: int, slew_db_per_s: float,
                 time_s: float = MATCH_TIME_S) -> None:
        self._sections = k_weighting(sample_rate)
        self._heard_state = np.zeros((channels, 2, 2))
        self._out_state = np.zeros((channels, 2, 2))
        gate = 10.0 ** ((MATCH_GATE_LUFS - LOUDNESS_OFFSET_DB) / 10.0)  # as a K-weighted mean square
        self._settings = np.array([(sample_rate, time_s, slew_db_per_s, gate, True)], SETTINGS)
        self._state = np.array([(0.0, 0.0, 0.0, 0.0, 1.0)], STATE)
        # what ``match_block`` takes after the two blocks (all updated in place): for a caller that
        # fuses level matching with other per-sample work in one compiled call (the back end)
        self.kernel_arrays = (self._sections, self._heard_state, self._out_state, self._settings, self._state)

    @property
    def gain_db(self) -> float:
        return float(self._state[0]["gain_db"])

    @property
    def held(self) -> bool:
        return not self._settings[0]["tracking"]

    def hold(self, gain_db: float) -> None:
        """Apply this gain from now on (at once), and stop tracking."""
        self._settings[0]["tracking"] = False
        self._state[0]["goal_db"] = self._state[0]["gain_db"] = gain_db
        self._state[0]["gain"] = 10.0 ** (gain_db / 20.0)

    def process(self, heard: np.ndarray, out: np.ndarray) -> None:
        """Track the loudness of ``heard`` (the input) against ``out`` (the equalized block,
        scaled here in place)."""
        match_block(heard, out, *self.kernel_arrays)


class IntegratedLoudness:
    """BS.1770 integrated loudness of a whole signal fed in blocks: 400 ms gating blocks with
    75% overlap, absolute gate -70 LUFS, relative gate -10 LU. Memory: one number per 100 ms."""

    def __init__(self, sample_rate: float, channels: int) -> None:
        self._sections = k_weighting(sample_rate)
        self._state = np.zeros((channels, 2, 2))
        self._step = int(round(0.1 * sample_rate))
        self._pending = 0  # frames of the current 100 ms step so far
        self._energy = 0.0
        self._steps: list[float] = []  # K-weighted energy of each whole 100 ms step

    def add(self, block: np.ndarray) -> None:
        position = 0
        while position < block.shape[0]:
            take = min(self._step - self._pending, block.shape[0] - position)
            self._energy += _weighted_energy(block[position : position + take], self._sections, self._state)
            self._pending += take
            position += take
            if self._pending == self._step:
                self._steps.append(self._energy)
                self._energy, self._pending = 0.0, 0

    def lufs(self) -> float:
        """The gated loudness so far (-inf if nothing passes the gates or under 400 ms)."""
        steps = np.asarray(self._steps)
        if len(steps) < 4:
            return -math.inf
        blocks = (steps[:-3] + steps[1:-2] + steps[2:-1] + steps[3:]) / (4 * self._step)
        with np.errstate(divide="ignore"):
            loudness = LOUDNESS_OFFSET_DB + 10.0 * np.log10(blocks)
        kept = blocks[loudness > ABSOLUTE_GATE_LUFS]
        if not len(kept):
            return -math.inf
        relative_gate = lufs(float(kept.mean())) + RELATIVE_GATE_LU
        kept = blocks[(loudness > ABSOLUTE_GATE_LUFS) & (loudness > relative_gate)]
        return lufs(float(kept.mean()))
