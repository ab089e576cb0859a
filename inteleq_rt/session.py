"""The library's entry point: one ``Session`` assembles a stream's engine, plugins, classifier
and report from ``Options``; ``process_file`` and ``analyze_file`` use it on files (live use
is in live.py, whole-track decisions in track.py). The CLI only parses arguments, calls these
and prints.

Offline, the classifier is stepped between blocks, so a render is deterministic; live, it
runs beside the audio path and never makes the callback wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine.config import MIN_BLOCK_SIZE
from .engine.engine import Engine
from .engine.loudness import IntegratedLoudness
from .errors import InteleqError
from .io import files
from .io.atomic import AtomicOutput, check_can_write
from .io.files import FILE_BLOCK
from .options import Options
from .report import Timeline, memory_mb
from .resources import weights_dir
from .track import REFERENCE, TrackPlan, load_genre_model, plan_track, reference_preset


def session_presets(options: Options) -> dict:
    """The presets a run can use: the folder in force, and a --reference track's balance."""
    from .engine.config import band_set
    from .engine.presets import load_presets

    presets = load_presets(options.presets, options.targets)
    if options.reference is not None:
        presets = {**presets, REFERENCE: reference_preset(options.reference, band_set(options.bands))}
    return presets


@dataclass
class Outcome:
    """What a run did, for the caller to show: a title, a summary, warnings, the genre timeline."""

    title: str
    summary: dict
    genre_changes: list[tuple[float, str]]
    warnings: list[str] = field(default_factory=list)
    report: Path | None = None
    failure: str | None = None  # a live stream's own failure, after its report was kept


class Session:
    """A stream's engine (with its plugins), the classifier beside it in automatic mode, and
    the report timeline, for one sample rate and channel count."""

    def __init__(self, options: Options, sample_rate: int, channels: int, analyze: bool = True,
                 block_size: int = 0, live: bool = False, presets: dict | None = None, model=None) -> None:
        """``live``: the classifier will run in its own process (``beside_audio``), so this
        process never loads the model; offline it is stepped here, between blocks (``model``:
        one loaded already). ``presets``: those ``session_presets`` gave already (a
        whole-track render's passes share them)."""
        from .engine.plugins import PluginInsert, parse_plugin_spec
        from .genre.model import check_rate

        self.options = options
        self.live = live
        config = options.engine_config(sample_rate, channels, analyze, block_size)
        self.classes = None  # the model's classes (automatic mode)
        model = model if options.automatic else None
        if options.automatic:
            self.weights = weights_dir(options.weights)
            try:
                self.classes = check_rate(self.weights, sample_rate)
            except InteleqError as error:
                raise type(error)(f"{error}, or choose a genre with --genre") from None
            if not live and model is None:
                model = load_genre_model(options.weights, ", or choose a genre with --genre")
        presets = presets if presets is not None else session_presets(options)
        genre = options.genre or (REFERENCE if options.reference is not None else "flat")
        self.home_genre = None if options.automatic else genre  # where live controls' "a" returns
        if genre not in presets:
            raise InteleqError(f"unknown genre {genre!r}; available: {', '.join(sorted(presets))}")
        plugins = [PluginInsert(parse_plugin_spec(text), channels, sample_rate, config.max_block_size)
                   for text in options.plugins]
        self.engine = Engine(config, presets, genre=genre, **{f"{options.plugin_position}_plugins": plugins})
        missing = [c for c in self.classes or () if c not in presets]
        if missing:
            raise InteleqError(f"the genre model's classes {', '.join(missing)} have no preset")
        self.classifier = None  # what decides: the classifier here, or its process while live
        if model is not None:
            from .genre.classifier import GenreClassifier

            self.classifier = GenreClassifier(self.engine, model, period_s=options.classify_every_s,
                                              blend=options.blend)
        self.timeline = Timeline(self.engine, self.classifier)
        self.mode = ("automatic" if options.automatic else f"genre {options.genre}" if options.genre
                     else f"reference {options.reference.name}")

    def after_block(self) -> None:
        """Offline: classify synchronously (deterministic), then sample the timeline."""
        if self.classifier is not None:
            self.classifier.step()
        self.timeline.sample()

    def beside_audio(self) -> AbstractContextManager:
        """Live: the classifier in its own process for the duration of a stream."""
        if not self.options.automatic:
            return nullcontext()
        from .genre.process import ClassifierProcess

        self.classifier = ClassifierProcess(self.engine, self.weights, self.classes,
                                            self.options.classify_every_s, self.options.blend)
        self.timeline.classifier = self.classifier
        return self.classifier

    def supervise(self) -> None:
        """Live, from the main thread's ticks: restart the classifier's process if it died."""
        if self.live and self.options.automatic:
            self.classifier.supervise()

    def finish(self, title: str, summary: dict, failure: BaseException | None = None) -> Outcome:
        """The outcome, with the classifier's figures and repaired input counted; the report
        is written (a failed live stream's too, with its reason)."""
        self.timeline.sample()
        outcome = Outcome(title, summary, [], report=self.options.report)
        if self.classifier is not None:
            summary.update(self.classifier.summary())
        repaired = self.engine.repaired_samples
        if repaired:
            summary["repaired_input_samples"] = repaired
            outcome.warnings.append(f"{repaired} input samples were NaN, infinite or beyond +90 dBFS; "
                                    "the engine heard silence (or the clamped value) in their place")
        engine = self.engine
        if engine.latency_frames:
            look_ahead = engine.limiter.latency if engine.limiter is not None else 0
            compensated = "compensated offline" if not self.live else "the output is that much late"
            plugins = engine.latency_frames - look_ahead
            summary["latency_frames"] = (f"{engine.latency_frames} ({f'plugins {plugins}, ' if plugins else ''}"
                                         f"limiter look-ahead {look_ahead}; {compensated})")
        if engine.level is not None and not engine.level.held:
            summary["level_match_db"] = f"{engine.level.gain_db:+.2f} at the end (the report has it over time)"
        if engine.limiter is not None:
            summary["limited_blocks"] = f"{engine.limiter.limited_blocks} of {engine.limiter.blocks}"
            summary["deepest_limiting_db"] = round(engine.limiter.deepest_reduction_db, 2)
        if failure is not None:
            summary["stopped_by_error"] = outcome.failure = str(failure)
        if self.options.report is not None:
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


def _db(value: float) -> str:
    return f"{20 * math.log10(value):.1f} dBFS" if value > 0 else "-inf dBFS"


# Gain reduction beyond this is heard as pumping and dulled transients: the user is told.
AUDIBLE_LIMITING_DB = 6.0


def process_file(source: Path, destination: Path, options: Options = Options(), model=None) -> Outcome:
    """Equalize a whole file offline, as fast as the CPU allows, into ``destination`` (format
    from its extension; rate, channels and sample format kept), written atomically. One EQ and
    one gain for the whole track (see track.py), unless ``options.follow``: then the EQ
    follows the track as a live stream would. ``model``: the genre model, loaded once for
    many files (automatic mode; loaded here if not given)."""
    import soundfile as sf

    info = files.read_info(source)
    check_can_write(destination, options.force, (source,))
    container, subtype = files.output_format(destination, info)
    if options.report is not None:
        check_can_write(options.report, options.force, (source,))
    loading = time.perf_counter()
    if not options.automatic:  # a chosen genre (or reference) is not second-guessed
        model = None
    loaded_here = options.automatic and model is None
    if loaded_here:
        model = load_genre_model(options.weights, ", or choose a genre with --genre")
    started = time.perf_counter()  # the render's own time: a model is loaded once for many files
    presets = session_presets(options)  # read once (a --reference track too) for every pass
    plan: TrackPlan | None = None
    if not options.follow:
        def render(pass_options: Options, prepare: Callable[[Engine], None]) -> float:
            engine = Session(pass_options, info.sample_rate, info.channels, analyze=False,
                             presets=presets).engine
            prepare(engine)
            made = IntegratedLoudness(info.sample_rate, info.channels)
            for result in render_blocks(engine, files.stream(source)):
                made.add(result)
            return made.lufs()

        plan = plan_track(source, info, options, presets, render, model)
    # Band levels feed the report and a following EQ; a whole-track render without a report
    # skips their analysis.
    session = Session(plan.options if plan else options, info.sample_rate, info.channels,
                      analyze=options.report is not None or plan is None, presets=presets, model=model)
    if plan is not None:
        plan.apply(session.engine)
    loudness_in, loudness_out = (IntegratedLoudness(info.sample_rate, info.channels) for _ in range(2))
    quantize = files.Quantizer(subtype, options.dither)
    peak, clipped, frames = 0.0, 0, 0

    def heard(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            loudness_in.add(block)
            yield block

    with AtomicOutput(destination) as temporary, sf.SoundFile(
            str(temporary), "w", info.sample_rate, info.channels, subtype, format=container) as writer:
        for result in render_blocks(session.engine, heard(files.stream(source)), session.after_block):
            peak = max(peak, float(np.max(np.abs(result))))
            clipped += int(np.count_nonzero(np.abs(result) > 1.0))
            loudness_out.add(result)
            writer.write(quantize(result))
            frames += result.shape[0]
    seconds = time.perf_counter() - started
    summary = {"input": str(source), "output": str(destination), "seconds": round(frames / info.sample_rate, 3),
               "sample_rate": info.sample_rate, "channels": info.channels, "render_seconds": round(seconds, 3),
               "realtime_factor": round(frames / info.sample_rate / max(seconds, 1e-9), 1)}
    if loaded_here:
        summary["model_load_seconds"] = round(started - loading, 3)
    if plan is not None:
        summary["eq"] = f"{plan.why}; one EQ for the whole track"
        if plan.gain_db is not None:
            summary["gain_after_eq_db"] = round(plan.gain_db, 2)
    summary.update({"loudness_in": _lufs(loudness_in.lufs()), "loudness_out": _lufs(loudness_out.lufs()),
                    "output_peak": _db(peak), "clipped_samples": clipped})
    if quantize.bits is not None:
        summary["dither"] = f"TPDF to {quantize.bits} bits" if options.dither else f"none (rounded to {quantize.bits} bits)"
    summary["memory"] = memory_mb()
    outcome = session.finish(f"wrote {destination}", summary)
    limiter = session.engine.limiter
    if limiter is not None and limiter.deepest_reduction_db > AUDIBLE_LIMITING_DB:
        outcome.warnings.append(f"the limiter took up to {limiter.deepest_reduction_db:.1f} dB off peaks to hold "
                                f"the {options.ceiling_db:g} dBFS ceiling: expect audible pumping; "
                                "lower --target-lufs or --amount")
    return outcome


def _lufs(value: float) -> str:
    return f"{value:.1f} LUFS" if math.isfinite(value) else "silent"


@dataclass
class Analysis:
    """A file run through the engine as `process` would, kept in memory for a picture."""

    session: Session
    audio: np.ndarray
    output: np.ndarray
    sample_rate: int


def analyze_file(source: Path, options: Options = Options()) -> Analysis:
    audio, rate = files.read_audio(source)
    session = Session(options, rate, audio.shape[1])
    output = np.empty_like(audio)
    blocks = (audio[start : start + FILE_BLOCK] for start in range(0, len(audio), FILE_BLOCK))
    position = 0
    for result in render_blocks(session.engine, blocks, session.after_block):
        output[position : position + result.shape[0]] = result
        position += result.shape[0]
    session.timeline.sample()
    return Analysis(session, audio, output, rate)
