"""Whole tracks: what a file is (``classify_file``), and what a render decides before it
renders (``plan_track``).

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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .engine.config import MATCH_GATE_DB, band_set
from .engine.front import conditioned
from .engine.levels import LongTermBalance
from .engine.loudness import MAX_MATCH_DB, IntegratedLoudness
from .engine.presets import Preset
from .errors import InteleqError
from .genre.interface import GenreListener
from .io import files
from .options import Options
from .reference import REFERENCE, reference_range
from .resources import weights_dir
from .tonal.targets import RangeVerdict

MAX_TARGET_GAIN_DB = 24.0  # --target-lufs never raises a track more than this
# --target-lufs measures the limited render and corrects its gain up to this many times, until
# it is this close
TARGET_TRIES, TARGET_TOLERANCE_LU = 2, 0.1
# The loudness the EQ adds is predicted from the track's spectrum (no pass through the EQ just
# to measure it); a render whose own meter finds the prediction this far off is rendered again.
PREDICTION_TOLERANCE_LU = 0.2


def load_genre_model(weights: str | Path | None, alternative: str = "") -> GenreListener:
    """The genre model (by name or folder), or an error that says how to get one."""
    from .genre.weights import load_model

    return _with_a_way_out(load_model, weights, alternative)


def genre_model_classes(weights: str | Path | None) -> tuple[str, ...]:
    """The genre model's classes, read without loading it (for a process that does not
    classify itself), or the same error as ``load_genre_model``."""
    from .genre.weights import read_classes

    return _with_a_way_out(read_classes, weights, "")


def _with_a_way_out(read: Callable, weights: str | Path | None, alternative: str):
    from .genre.interface import WeightsError

    folder = weights_dir(weights)
    try:
        return read(folder)
    except WeightsError as error:
        raise WeightsError(f"{error}; train a model with `inteleq-rt train DATASET -o {folder}`{alternative}") from None


# A whole file is heard in windows side by side (every sample once: a window a second heard
# each sample three times over), evaluated this many at a time (one forward pass, one compiled
# shape; 8 costs the tagger 12% less per window than 1, and pads a short file less than 16).
BATCH = 8


@dataclass
class Classified:
    """A whole file's verdict: the mean of its windows' evidence."""

    genre: str  # a class, or "unsure"
    probabilities: dict[str, float]
    music: float
    top_tags: list[tuple[str, float]]  # the tagger's own view (a tagger model only)
    silent: bool = False  # nothing above the -60 dBFS gate anywhere: unsure


def classify_file(path: Path, model: GenreListener, also: Callable[[np.ndarray], None] | None = None) -> Classified:
    """The model's verdict on a whole file, read in blocks; ``also`` sees every block."""
    from .genre.classifier import MUSIC_THRESHOLD, UNSURE

    info = files.read_info(path)
    try:
        model.check_sample_rate(info.sample_rate)
    except InteleqError as error:
        raise type(error)(f"{path}: {error}") from None
    tracker = model.tracker(info.sample_rate, info.channels)
    windows, heard, due, silent = [], [], [model.window_s], [0]

    def evaluate() -> None:
        batch = np.stack(windows + windows[-1:] * (BATCH - len(windows)))  # padded: one compiled shape
        heard.extend(model.evidence_batch(batch)[: len(windows)])
        windows.clear()

    def on_tick(tracker) -> None:
        if tracker.seconds + 1e-9 >= due[0]:
            due[0] += model.window_s
            if tracker.loudest_db() < MATCH_GATE_DB:
                silent[0] += 1  # nothing above the gate: no evidence of any genre
                return
            windows.append(model.heard(tracker))
            if len(windows) == BATCH:
                evaluate()

    for block in files.stream(path):
        tracker.push(block, on_tick)
        if also is not None:
            also(block)
    if windows:
        evaluate()
    if not heard and silent[0]:
        return Classified(UNSURE, {name: 0.0 for name in model.classes}, 0.0, [], silent=True)
    if not heard:
        raise InteleqError(f"{path}: shorter than the {model.window_s:.3g} s the model listens to")
    probabilities = np.mean([e.probabilities for e in heard], axis=0)
    music = float(np.mean([e.music for e in heard]))
    genre = UNSURE if music < MUSIC_THRESHOLD else model.classes[int(np.argmax(probabilities))]
    tags = []
    if heard[0].tag_logits is not None:
        mean = 1.0 / (1.0 + np.exp(-np.mean([e.tag_logits for e in heard], axis=0)))
        tags = [(model.tagger.tags[i], round(float(mean[i]), 3)) for i in np.argsort(-mean)[:5]]
    return Classified(genre, {n: round(float(p), 4) for n, p in zip(model.classes, probabilities)},
                      round(music, 4), tags)


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
    _eq_meter: IntegratedLoudness | None = field(default=None, init=False, repr=False)

    def apply(self, engine) -> None:
        """Fix the engine's EQ and gain for the whole render (and meter the EQ's output while
        its loudness is a prediction)."""
        engine.hold_track(self.gain_db, self.balance_db)
        if self.predicted_lufs is not None:
            config = engine.config
            self._eq_meter = IntegratedLoudness(config.sample_rate, config.channels)
            engine.measure_eq((IntegratedLoudness(config.sample_rate, config.channels), self._eq_meter))

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


def plan_track(source: Path, info: files.AudioInfo, options: Options, presets: dict[str, Preset],
               render: Callable[[Options, dict, Callable], float], model=None) -> TrackPlan:
    """Listen to the whole track (through ``model``, in automatic mode), then measure what its
    EQ hears and makes. ``render(options, presets, prepare)`` runs the file through a fresh
    engine (``prepare(engine)`` before the first block) and returns its output's loudness."""
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
            loudness_in.add(block if np.isfinite(block).all() else conditioned(block))

    if model is not None:
        verdict = classify_file(source, model, hear)
        genre = verdict.genre if verdict.genre in presets else "flat"
        best = max(verdict.probabilities.items(), key=lambda item: item[1])
        why = (f"flat: silent (nothing above {MATCH_GATE_DB:g} dBFS)" if verdict.silent
               else f"flat: the track is not music enough ({verdict.music:.0%})" if verdict.genre == UNSURE
               else f"{genre}: the whole track heard as {verdict.genre} (music {verdict.music:.0%}, "
                    f"{best[0]} {best[1]:.0%})")
    elif balance is not None:
        for block in files.stream(source):
            hear(block)
    fixed = options if options.reference is not None else replace(options, genre=genre, weights=None, blend=False)
    if ranges is not None:
        from .tonal.curve import response_db
        from .tonal.rule import range_preset
        from .tonal.spectrum import CENTRES_HZ

        weights = (verdict.probabilities if verdict is not None and verdict.genre in verdict.probabilities
                   else {genre: 1.0})  # a chosen genre
        balance_db = balance.balance_db()
        preset, moved = range_preset(balance_db, ranges, genre, weights, options.amount_percent / 100, options.limits)
        rendered = replace(fixed, mode="preset", genre=genre, reference=None)  # the fitted curve, as a preset
        tonal = RangeVerdict(genre, balance_db, ranges.get(genre),
                             response_db(preset.eq, CENTRES_HZ) * options.amount_percent / 100)
        plan = TrackPlan(rendered, f"{why}; {moved}", None, presets | {genre: preset}, tonal=tonal)
    else:
        plan = TrackPlan(fixed, why, balance.levels_db() if balance is not None else None, presets)
    if predicting:
        from .engine.eq import usable_filters
        from .tonal.curve import loudness_change_db

        amount = plan.options.amount_percent / 100
        chain = tuple(replace(f, gain_db=f.gain_db * amount) for f in usable_filters(plan.presets[plan.options.genre].eq, rate))
        input_lufs = loudness_in.lufs()
        eq_lufs = input_lufs + loudness_change_db(chain, *balance.power(), rate)
        plan.gain_db = _gain(options, input_lufs, eq_lufs)
        plan.options = replace(plan.options, level_match=True)
        if options.target_lufs is None:  # --target-lufs measures its renders anyway (below)
            plan.predicted_lufs = input_lufs, eq_lufs
    elif levelled:
        meters = IntegratedLoudness(rate, channels), IntegratedLoudness(rate, channels)

        def prepare(engine) -> None:
            plan.apply(engine)
            engine.measure_eq(meters)

        render(replace(plan.options, level_match=False, ceiling_db=None), plan.presets, prepare)
        plan.gain_db = _gain(options, meters[0].lufs(), meters[1].lufs())
        plan.options = replace(plan.options, level_match=True)
    if options.target_lufs is not None:  # the limiter takes some loudness back: make up for it
        for _ in range(TARGET_TRIES):
            short = options.target_lufs - render(plan.options, plan.presets, plan.apply)
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
