"""What a whole-track render decides before it renders (``plan_track``), and the passes it
runs to decide: offline.py's ``process_file`` and ``analyze_file`` then render by the plan.

A mastered file should keep one EQ from start to end. So `process` listens to the whole
track first: the genre model's evidence averaged over the track (as `classify` does), its
long-term balance (match mode steers once, from it; range mode fits one curve from its
1/3-octave balance and the genre's range, tonal/). The render then runs with that EQ and one
constant gain: to the input's loudness (level matching) or the --target-lufs. In range mode
the loudness the curve adds is predicted from the first pass's spectrum and checked by the
render's own meter (rendered again if it missed); otherwise a second, quick pass renders the
decided EQ to measure it. Loudness is BS.1770's (engine/loudness.py), so a render and a
stream agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .engine.config import SILENCE_GATE_DBFS, band_set
from .engine.front import as_heard
from .engine.levels import LongTermBalance
from .engine.loudness import MAX_MATCH_DB, IntegratedLoudness
from .engine.presets import Preset
from .genre.interface import GenreListener
from .genre.whole_file import classify_file
from .io import files
from .options import Options
from .reference import REFERENCE, reference_range
from .session import Session, render_blocks
from .tonal.targets import RangeVerdict

MAX_TARGET_GAIN_DB = 24.0  # --target-lufs never raises a track more than this
# --target-lufs measures the limited render and corrects its gain up to this many times, until
# it is this close
TARGET_TRIES, TARGET_TOLERANCE_LU = 2, 0.1
# The loudness the EQ adds is predicted from the track's spectrum (no pass through the EQ just
# to measure it); a render whose own meter finds the prediction this far off is rendered again.
PREDICTION_TOLERANCE_LU = 0.2


@dataclass
class TrackPlan:
    """What a whole-track render does, decided before it starts."""

    options: Options  # the render's: a fixed genre, and level matching on if a gain is held
    why: str  # how the genre was chosen, for the summary
    balance_db: np.ndarray | None  # match mode: the track's long-term balance
    presets: dict[str, Preset]  # the render's (range mode: the genre's preset is the fitted curve)
    gain_db: float | None = None  # the constant gain after the EQ (None: no level matching)
    tonal: RangeVerdict | None = None  # range mode: the balance, its range and the correction
    # the input's loudness and the EQ output's, predicted, until a render's meter checked it
    predicted_lufs: tuple[float, float] | None = None
    # the input's loudness, when the plan's own pass measured it: a render does not measure it again
    input_loudness: IntegratedLoudness | None = None
    _eq_meter: IntegratedLoudness | None = field(default=None, init=False, repr=False)

    def apply(self, engine) -> None:
        """Fix the engine's EQ and gain for the whole render (and meter the EQ's output while
        its loudness is a prediction)."""
        engine.hold_track(self.gain_db, self.balance_db)
        if self.predicted_lufs is not None:
            config = engine.config
            self._eq_meter = IntegratedLoudness(config.sample_rate, config.channels)
            engine.measure_eq((None, self._eq_meter))  # the input's loudness is known already

    def corrected(self, options: Options) -> bool:
        """After a render: True if its meter found the predicted EQ loudness off by more than
        PREDICTION_TOLERANCE_LU, the gain now set from what it measured (render again)."""
        if self.predicted_lufs is None or self._eq_meter is None:
            return False
        (input_lufs, predicted), measured = self.predicted_lufs, self._eq_meter.lufs()
        self.predicted_lufs = self._eq_meter = None
        if not math.isfinite(measured) or abs(measured - predicted) <= PREDICTION_TOLERANCE_LU:
            return False
        self.gain_db = _gain(options, input_lufs, measured)
        return True


def _loudness_through(source: Path, info: files.AudioInfo, options: Options, presets: dict,
                      prepare) -> float:
    """One measuring pass: the file through a fresh engine (``prepare(engine)`` before its
    first block); the output's loudness (LUFS)."""
    engine = Session(options, info.sample_rate, info.channels, analyze=False, presets=presets).engine
    prepare(engine)
    made = IntegratedLoudness(info.sample_rate, info.channels)
    for result in render_blocks(engine, files.stream(source)):
        made.add(result)
    return made.lufs()


def plan_track(source: Path, info: files.AudioInfo, options: Options, presets: dict[str, Preset],
               model: GenreListener | None = None) -> TrackPlan:
    """Listen to the whole track (through ``model``, in automatic mode), then measure (or, in
    range mode, predict) what its EQ hears and makes."""
    from .genre.classifier import UNSURE

    rate, channels = info.sample_rate, info.channels
    balance = LongTermBalance(band_set(options.bands), rate, channels) if options.mode == "match" else None
    ranges = None
    if options.mode == "range":
        from .tonal.spectrum import LongTermSpectrum
        from .tonal.targets import ranges_in

        ranges = {REFERENCE: reference_range(options.reference)} if options.reference else ranges_in(options.presets)
        balance = LongTermSpectrum(rate)
    verdict = None
    genre = REFERENCE if options.reference is not None else options.genre
    why = f"{genre}: chosen"
    if model is not None and info.frames < model.window_s * rate:
        genre, why = "flat", f"flat: shorter than the {model.window_s:.3g} s the genre model listens to"
        model = None
    # Range mode's curve is fixed and its first pass measures the spectrum anyway: the loudness
    # the curve adds is predicted from it, not measured by a pass through the EQ (match mode
    # steers, plugins change what the EQ hears; for a preset the spectrum costs what the pass
    # saves: those measure through the EQ).
    levelled = options.level_match or options.target_lufs is not None
    predicting = levelled and options.mode == "range" and not options.plugins
    loudness_in = IntegratedLoudness(rate, channels) if predicting else None

    def hear(block: np.ndarray) -> None:
        if balance is not None:
            balance.add(block)
        if predicting:
            loudness_in.add(as_heard(block))

    if model is not None:
        verdict = classify_file(source, model, hear)
        genre = verdict.genre if verdict.genre in presets else "flat"
        best = max(verdict.probabilities.items(), key=lambda item: item[1])
        why = (f"flat: silent (nothing above {SILENCE_GATE_DBFS:g} dBFS)" if verdict.silent
               else f"flat: the track is not music enough ({verdict.music:.0%})" if verdict.genre == UNSURE
               else f"{genre}: the whole track heard as {verdict.genre} (music {verdict.music:.0%}, "
                    f"{best[0]} {best[1]:.0%})")
    elif balance is not None:
        for block in files.stream(source):
            hear(block)
    fixed = options if options.reference is not None else replace(options, genre=genre, weights=None, blend=False)
    if ranges is not None:
        from .tonal.curve import response_db, scaled
        from .tonal.rule import range_preset
        from .tonal.spectrum import CENTRES_HZ

        weights = (verdict.probabilities if verdict is not None and verdict.genre in verdict.probabilities
                   else {genre: 1.0})  # a chosen genre
        balance_db = balance.balance_db()
        preset, moved = range_preset(balance_db, ranges, genre, weights, options.amount_percent / 100, options.limits)
        rendered = replace(fixed, mode="preset", genre=genre, reference=None)  # the fitted curve, as a preset
        tonal = RangeVerdict(genre, balance_db, ranges.get(genre),
                             response_db(scaled(preset.eq, options.amount_percent / 100), CENTRES_HZ))
        plan = TrackPlan(rendered, f"{why}; {moved}", None, presets | {genre: preset}, tonal=tonal)
    else:
        plan = TrackPlan(fixed, why, balance.levels_db() if balance is not None else None, presets)
    if predicting:
        from .engine.eq import usable_filters
        from .tonal.curve import loudness_change_db, scaled

        chain = scaled(usable_filters(plan.presets[plan.options.genre].eq, rate), plan.options.amount_percent / 100)
        input_lufs = loudness_in.lufs()
        eq_lufs = input_lufs + loudness_change_db(chain, *balance.power(), rate)
        plan.gain_db = _gain(options, input_lufs, eq_lufs)
        plan.options = replace(plan.options, level_match=True)
        plan.input_loudness = loudness_in
        if options.target_lufs is None:  # --target-lufs measures its renders anyway (below)
            plan.predicted_lufs = input_lufs, eq_lufs
    elif levelled:
        meters = IntegratedLoudness(rate, channels), IntegratedLoudness(rate, channels)

        def prepare(engine) -> None:
            plan.apply(engine)
            engine.measure_eq(meters)

        _loudness_through(source, info, replace(plan.options, level_match=False, ceiling_db=None), plan.presets,
                          prepare)
        plan.gain_db = _gain(options, meters[0].lufs(), meters[1].lufs())
        plan.options = replace(plan.options, level_match=True)
    if options.target_lufs is not None:  # the limiter takes some loudness back: make up for it
        for _ in range(TARGET_TRIES):
            short = options.target_lufs - _loudness_through(source, info, plan.options, plan.presets, plan.apply)
            if not math.isfinite(short) or abs(short) < TARGET_TOLERANCE_LU or plan.gain_db >= MAX_TARGET_GAIN_DB:
                break
            plan.gain_db = min(plan.gain_db + short, MAX_TARGET_GAIN_DB)
    return plan


def _gain(options: Options, input_lufs: float, eq_lufs: float) -> float:
    """The constant gain after the EQ: to the target loudness, or back to the input's."""
    if not math.isfinite(eq_lufs):  # silence: nothing to match
        return 0.0
    if options.target_lufs is not None:
        return min(options.target_lufs - eq_lufs, MAX_TARGET_GAIN_DB)
    if not math.isfinite(input_lufs):
        return 0.0
    return min(max(input_lufs - eq_lufs, -MAX_MATCH_DB), MAX_MATCH_DB)
