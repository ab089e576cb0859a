"""Files offline: ``process_file`` equalizes a whole file as fast as the CPU allows (one EQ
and one gain for the track, decided first: see track.py), ``analyze_file`` keeps a file's
run in memory for a picture. Both render through session.py's ``render_blocks``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine.config import AUDIBLE_LIMITING_DB
from .engine.engine import Engine
from .engine.loudness import IntegratedLoudness
from .io import files
from .io.atomic import AtomicOutput, check_outputs
from .io.files import FILE_BLOCK
from .options import Options
from .memory import memory_mb
from .session import Outcome, Session, render_blocks, session_presets
from .track import TrackPlan, load_genre_model, plan_track


def _db(value: float) -> str:
    return f"{20 * math.log10(value):.1f} dBFS" if value > 0 else "-inf dBFS"


def process_file(source: Path, destination: Path, options: Options = Options(), model=None) -> Outcome:
    """Equalize a whole file offline, as fast as the CPU allows, into ``destination`` (format
    from its extension; rate, channels and sample format kept), written atomically. One EQ and
    one gain for the whole track (see track.py), unless ``options.follow``: then the EQ
    follows the track as a live stream would. ``model``: the genre model, loaded once for
    many files (automatic mode; loaded here if not given)."""
    import soundfile as sf

    info = files.read_info(source)
    check_outputs({"-o": destination, "--report": options.report}, options.force, (source,))
    container, subtype = files.output_format(destination, info)
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
               "sample_rate": info.sample_rate, "channels": info.channels,
               "format": files.format_note(container, subtype, info), "render_seconds": round(seconds, 3),
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
    outcome.measured = {"loudness_in_lufs": loudness_in.lufs(), "loudness_out_lufs": loudness_out.lufs(),
                        "peak": peak, "clipped_samples": clipped, "audio_seconds": frames / info.sample_rate,
                        "render_seconds": seconds,
                        "deepest_limiting_db": limiter.deepest_reduction_db if limiter is not None else 0.0}
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
