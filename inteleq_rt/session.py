"""The library's entry point: one ``Session`` assembles a stream's engine, plugins, classifier
and report from ``Options``; offline.py uses it on files, live.py on devices (whole-track
decisions are in plan.py). The CLI only parses arguments, calls these and prints.

Offline, the classifier is stepped between blocks, so a render is deterministic; live, it
runs beside the audio path and never makes the callback wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine.config import MIN_BLOCK_SIZE
from .engine.engine import Engine
from .errors import InteleqError
from .genre.classifier import holds_correction
from .io.files import FILE_BLOCK
from .options import Options
from .report import Timeline
from .resources import weights_dir
from .tonal.targets import RangeVerdict

if TYPE_CHECKING:
    from .engine.snapshot import Snapshot
    from .genre.interface import GenreListener
from .reference import REFERENCE, reference_preset


def session_presets(options: Options) -> dict:
    """The presets a run can use: the folder in force, a --preset file, and a --reference's:
    in match mode its balance as a target; in range mode a name only (its range,
    ``reference_range``, is what the correction follows, and checks the tracks)."""
    from .engine.config import band_set
    from .engine.presets import Preset, load_preset_file, load_presets

    presets = load_presets(options.presets, options.targets)
    if options.preset_file is not None:
        return {**presets, options.genre: load_preset_file(options.preset_file)}
    if options.reference is None:
        return presets
    if options.mode == "range":
        return {**presets, REFERENCE: Preset(REFERENCE, f"range mode's target: {options.reference.name}",
                                             str(options.reference), (), None)}
    return {**presets, REFERENCE: reference_preset(options.reference, band_set(options.bands))}


def check_genre(genre: str | None, presets: dict) -> None:
    """A chosen genre must name a preset (range mode too: its range belongs to a genre)."""
    if genre is not None and genre not in presets:
        raise InteleqError(f"unknown genre {genre!r}; available: {', '.join(sorted(presets))}")


@dataclass
class Outcome:
    """What a run did, for the caller to show: a title, a summary, warnings, the genre timeline."""

    title: str
    summary: dict
    genre_changes: list[tuple[float, str]]
    warnings: list[str] = field(default_factory=list)
    report: Path | None = None
    failure: str | None = None  # a live stream's own failure, after its report was kept
    measured: dict[str, float] = field(default_factory=dict)  # a file's figures as numbers (offline.py)


class Session:
    """A stream's engine (with its plugins), the classifier beside it in automatic mode, and
    the report timeline, for one sample rate and channel count."""

    def __init__(self, options: Options, sample_rate: int, channels: int, analyze: bool = True,
                 block_size: int = 0, live: bool = False, presets: dict | None = None,
                 model: GenreListener | None = None) -> None:
        """``live``: the classifier will run in its own process (``beside_audio``), so this
        process never loads the model; offline it is stepped here, between blocks (``model``:
        one loaded already). ``presets``: those ``session_presets`` gave already (a
        whole-track render's passes share them)."""
        from .engine.plugins import PluginInsert, parse_plugin_spec
        from .genre.weights import check_rate

        self.options = options
        self.live = live
        config = options.engine_config(sample_rate, channels, analyze, block_size, live)
        self.classes = None  # the model's classes (automatic mode)
        model = model if options.automatic else None
        if options.automatic:
            self.weights = weights_dir(options.weights)
            try:
                self.classes = check_rate(self.weights, sample_rate)
            except InteleqError as error:
                raise type(error)(f"{error}, or choose a genre with --genre") from None
            if not live and model is None:
                from .genre.weights import load_genre_model

                model = load_genre_model(options.weights, ", or choose a genre with --genre")
        self.presets = presets = presets if presets is not None else session_presets(options)
        self.ranges = None  # range mode's genre ranges, for the balance's follower
        if options.mode == "range":
            from .tonal.targets import ranges_in
            from .reference import reference_range

            self.ranges = ({REFERENCE: reference_range(options.reference)} if options.reference is not None
                           else ranges_in(options.presets))
        genre = options.genre or (REFERENCE if options.reference is not None else "flat")
        self.home_genre = None if options.automatic else genre  # where live controls' "a" returns
        check_genre(genre, presets)
        plugins = [PluginInsert(parse_plugin_spec(text), channels, sample_rate, config.max_block_size)
                   for text in options.plugins]
        self.engine = Engine(config, presets, genre=genre, **{f"{options.plugin_position}_plugins": plugins})
        missing = [c for c in self.classes or () if c not in presets]
        if missing:
            raise InteleqError(f"the genre model's classes {', '.join(missing)} have no preset")
        self.classifier = None  # what decides: the classifier here, or its process while live
        if model is not None:
            from .genre.classifier import GenreClassifier

            self.classifier = GenreClassifier(self.engine.classifier_port, model, period_s=options.classify_every_s,
                                              blend=options.blend or options.mode == "range")
        self.follower = None  # range mode offline (--follow): stepped here, as the classifier is
        if self.ranges is not None and not live:
            from .tonal.follow import RangeFollower

            self.follower = RangeFollower(self.ranges, self.engine.classifier_port, options.classify_every_s,
                                          options.limits)
        # live without a report, only the genre changes are kept (hours of samples are not)
        self.timeline = Timeline(self.engine, self.classifier, keep=not live or options.report is not None)
        self.mode = ("automatic" if options.automatic else f"genre {options.genre}" if options.genre
                     else f"reference {options.reference.name}")

    def after_block(self) -> None:
        """Offline: classify and follow the balance synchronously (deterministic), then sample
        the timeline."""
        if self.classifier is not None:
            self.classifier.step()
        if self.follower is not None:
            self.follower.step(holding=holds_correction(self.classifier))
        self.timeline.sample()

    def beside_audio(self) -> AbstractContextManager:
        """Live: the classifier (and in range mode, the balance's follower) in its own process
        for the duration of a stream."""
        options = self.options
        if not options.automatic and options.mode != "range":
            return nullcontext()
        from .genre.process import ClassifierProcess

        self.classifier = ClassifierProcess(self.engine, self.weights if options.automatic else None,
                                            self.classes or (), options.classify_every_s,
                                            options.blend or options.mode == "range", ranges=self.ranges,
                                            limits=options.limits)
        self.timeline.classifier = self.classifier
        return self.classifier

    def range_verdict(self, balance_db: np.ndarray | None = None,
                      snapshot: Snapshot | None = None) -> RangeVerdict | None:
        """Range mode: ``balance_db`` (by default the stream's, as its follower last judged it)
        against the range of the genre playing, and the correction applied, as in ``snapshot``
        (by default one taken now); else None."""
        if self.ranges is None:
            return None
        from .tonal.curve import response_db
        from .tonal.spectrum import CENTRES_HZ

        follower = self.classifier if self.live else self.follower  # live: the follower's process
        balance_db = balance_db if balance_db is not None else follower.balance if follower is not None else None
        if balance_db is None:
            return None
        snapshot = snapshot or self.engine.snapshot()
        applied = tuple(replace(f, gain_db=gain) for f, gain in snapshot.eq_gains)
        return RangeVerdict(snapshot.genre, balance_db, self.ranges.get(snapshot.genre),
                            response_db(applied, CENTRES_HZ))

    def supervise(self) -> None:
        """Live, from the main thread's ticks: restart the classifier's process if it died."""
        if self.live and self.classifier is not None:
            self.classifier.supervise()

    def finish(self, title: str, summary: dict, failure: BaseException | None = None,
               write_report: bool = True) -> Outcome:
        """The outcome, with the classifier's figures and repaired input counted; the report
        is written (a failed live stream's too, with its reason) unless the caller writes it
        (a render, once its output is in place)."""
        self.timeline.sample()
        outcome = Outcome(title, summary, [], report=self.options.report)
        if self.classifier is not None:
            summary.update(self.classifier.summary())
        figures = self.engine.figures()
        if figures.repaired_samples:
            summary["repaired_input_samples"] = figures.repaired_samples
            outcome.warnings.append(f"{figures.repaired_samples} input samples were NaN, infinite or beyond +90 dBFS; "
                                    "the engine heard silence (or the clamped value) in their place")
        if figures.latency_frames:
            compensated = "compensated offline" if not self.live else "the output is that much late"
            plugins = figures.latency_frames - figures.look_ahead_frames
            summary["latency_frames"] = (f"{figures.latency_frames} ({f'plugins {plugins}, ' if plugins else ''}"
                                         f"limiter look-ahead {figures.look_ahead_frames}; {compensated})")
        if figures.level_match_db is not None:
            summary["level_match_db"] = f"{figures.level_match_db:+.2f} at the end (the report has it over time)"
        if figures.limited_blocks is not None:
            summary["limited_blocks"] = f"{figures.limited_blocks} of {figures.blocks}"
            summary["deepest_limiting_db"] = round(figures.deepest_limiting_db, 2)
        if failure is not None:
            summary["stopped_by_error"] = outcome.failure = str(failure)
        if write_report and self.options.report is not None:
            self.timeline.write(self.options.report, summary)
        outcome.genre_changes = self.timeline.genre_changes()
        return outcome


def render_blocks(engine: Engine, blocks: Iterable[np.ndarray],
                  after_block: Callable[[], None] | None = None) -> Iterator[np.ndarray]:
    """The engine's output for each input block: the one rendering path of process, analyze
    and the benchmark. A block shorter than the engine takes (a file's tail) is padded and its
    output cut back. Plugins' latency is compensated: the output lines up with the input
    sample for sample and has its length (the delayed start is dropped, the tail flushed with
    silence). Each yielded array is reused for the next block: use it before then."""
    channels = engine.config.channels
    padded = np.zeros((max(MIN_BLOCK_SIZE, channels + 1), channels), np.float32)
    out = np.empty((FILE_BLOCK, channels), np.float32)
    dropped = 0

    def run(block: np.ndarray) -> np.ndarray:
        nonlocal out
        frames = block.shape[0]
        if out.shape[0] < frames:
            out = np.empty((frames, channels), np.float32)
        if frames < padded.shape[0]:
            padded[:] = 0.0
            padded[:frames] = block
            engine.process(padded, out[: padded.shape[0]])
        else:
            engine.process(block, out[:frames])
        if after_block is not None:
            after_block()
        return out[:frames]

    for block in blocks:
        result = run(block)
        skip = min(engine.latency_frames - dropped, result.shape[0])  # the delay, while it grows
        dropped += skip
        if skip < result.shape[0]:
            yield result[skip:]
    tail = dropped
    silence = np.zeros((min(FILE_BLOCK, max(tail, 1)), channels), np.float32)
    while tail > 0:
        result = run(silence)
        yield result[: min(tail, result.shape[0])]
        tail -= result.shape[0]
