"""Files offline: ``process_file`` equalizes a whole file as fast as the CPU allows (one EQ
and one gain for the track, decided first: see plan.py), ``analyze_file`` keeps a file's
run in memory for a picture. Both render through session.py's ``render_blocks``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .engine.config import AUDIBLE_LIMITING_DB, LIMITS
from .engine.engine import Engine
from .engine.front import as_heard
from .engine.loudness import IntegratedLoudness
from .engine.presets import Preset, check_preset_path, preset_text
from .engine.truepeak import TruePeak
from .genre.interface import GenreListener
from .genre.weights import load_genre_model
from .io import files
from .io.atomic import AtomicOutput, check_outputs, write_atomically
from .io.overlap import Behind
from .io.tags import carry_tags
from .io.files import FILE_BLOCK
from .options import Options
from .memory import memory_mb
from .session import Outcome, Session, check_genre, render_blocks, session_presets
from .plan import TrackPlan, plan_track
from .tonal.targets import RangeVerdict


# A lossy output over the ceiling after decoding is rendered again, the limiter lowered by the
# overshoot and a margin that grows by CODEC_MARGIN_DB each try (overshoot is not linear: three
# tries at a fixed 0.1 dB left a Vorbis render at -0.9 dBTP), at most CODEC_TRIES renders in all.
CODEC_TRIES, CODEC_MARGIN_DB = 5, 0.1
MIN_CEILING_DB = LIMITS["ceiling"][0]
LOUDNESS_BLOCK_S = 0.4  # BS.1770's gating block: a shorter file has no loudness
TARGET_MISS_LU = 0.5  # a --target-lufs delivered further off than this is said


def _db(value: float, unit: str) -> str:
    return f"{20 * math.log10(value):.1f} {unit}" if value > 0 else f"-inf {unit}"


@dataclass
class _Render:
    """One render of a file into its (temporary) output, and what it measured."""

    session: Session
    loudness_in: IntegratedLoudness
    loudness_out: IntegratedLoudness
    quantize: files.Quantizer
    peak: float = 0.0
    true_peak: float = 0.0
    clipped: int = 0
    frames: int = 0

    def count_peaks(self, block: np.ndarray, between: TruePeak) -> None:
        """The sample peak, the samples beyond full scale and the true peak, of what is written
        (or, for a lossy output, of what decodes)."""
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        self.clipped += int(np.count_nonzero(np.abs(block) > 1.0))
        between.add(block)
        self.true_peak = between.peak


def _render(source: Path, temporary: Path, info: files.AudioInfo, container: str, subtype: str,
            options: Options, presets: dict, model: GenreListener | None, plan: TrackPlan | None) -> _Render:
    import soundfile as sf

    # Band levels feed the report and a following EQ; a whole-track render without a report
    # skips their analysis.
    session = Session(options, info.sample_rate, info.channels,
                      analyze=options.report is not None or plan is None, presets=presets, model=model)
    if plan is not None:
        plan.apply(session.engine)
    input_measured = plan is not None and plan.input_loudness is not None  # by the plan's own pass
    loudness_in = plan.input_loudness if input_measured else IntegratedLoudness(info.sample_rate, info.channels)
    made = _Render(session, loudness_in, IntegratedLoudness(info.sample_rate, info.channels),
                   files.Quantizer(subtype, options.dither))
    between = TruePeak(info.sample_rate, info.channels)

    def heard(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:  # as the engine hears it: NaN and Inf as silence, absurd levels clamped
            made.loudness_in.add(as_heard(block))
            yield block

    def written(block: np.ndarray) -> None:  # in the encoding thread, block by block in order
        made.count_peaks(block, between)  # the meters' kernels release the GIL: the second core measures
        made.loudness_out.add(block)
        made.frames += block.shape[0]
        writer.write(made.quantize(block))

    with (sf.SoundFile(str(temporary), "w", info.sample_rate, info.channels, subtype, format=container) as writer,
          Behind(written, f"encoding {temporary.name}") as encoder):
        decoded = files.stream(source)
        for result in render_blocks(session.engine, decoded if input_measured else heard(decoded), session.after_block):
            encoder.put(result.copy())  # the engine reuses its output buffer for the next block
    return made


def _decode(made: _Render, temporary: Path) -> None:
    """A lossy output's peaks as a listener decodes it (encoders overshoot the ceiling)."""
    config = made.session.engine.config
    decoded = TruePeak(config.sample_rate, config.channels)
    made.peak, made.clipped = 0.0, 0
    for block in files.stream(temporary):
        made.count_peaks(block, decoded)


def process_file(source: Path, destination: Path, options: Options = Options(), model: GenreListener | None = None,
                 before_commit: Callable[[Path, Outcome], None] | None = None) -> Outcome:
    """Equalize a whole file offline, as fast as the CPU allows, into ``destination`` (format
    from its extension; rate, channels and sample format kept where it holds them), tagged as
    its input was (with ReplayGain measured anew) and written atomically. One EQ and one gain
    for the whole track (see plan.py), unless ``options.follow``: then the EQ follows the
    track as a live stream would. A lossy output is decoded and held to the ceiling in true
    peak: rendered again, with the limiter lower by the encoder's overshoot, if it went over.
    ``model``: the genre model, loaded once for many files (automatic mode; loaded here if not
    given). ``before_commit(finished temporary, outcome)`` runs with the rename into place."""
    info = files.read_info(source)
    check_outputs({"-o": destination, "--report": options.report, "--save-preset": options.save_preset},
                  options.force, (source,))
    if options.save_preset is not None:
        check_preset_path(options.save_preset)
    container, subtype = files.output_format(destination, info)
    presets = session_presets(options)  # read and checked before any work (range mode reads its --reference in the plan)
    check_genre(options.genre, presets)
    loading = time.perf_counter()
    if not options.automatic:  # a chosen genre (or reference) is not second-guessed
        model = None
    loaded_here = options.automatic and model is None
    if loaded_here:
        model = load_genre_model(options.weights, ", or choose a genre with --genre")
    started = time.perf_counter()  # the render's own time: a model is loaded once for many files
    plan = None if options.follow else plan_track(source, info, options, presets, model)
    render_options = plan.options if plan else options
    lossy = files.is_lossy(subtype) and options.ceiling_db is not None
    output = AtomicOutput(destination)
    with output as temporary:
        for attempt in range(CODEC_TRIES if lossy else 1):
            made = _render(source, temporary, info, container, subtype, render_options,
                           plan.presets if plan else presets, model, plan)
            if plan is not None and plan.corrected(options):  # the EQ's loudness was mispredicted
                made = _render(source, temporary, info, container, subtype, render_options, plan.presets, model, plan)
            if not lossy:
                break
            _decode(made, temporary)
            over_db = 20 * math.log10(max(made.true_peak, 1e-12)) - options.ceiling_db
            if over_db <= 0 or render_options.ceiling_db <= MIN_CEILING_DB:
                break
            render_options = replace(render_options, ceiling_db=max(
                render_options.ceiling_db - over_db - CODEC_MARGIN_DB * (attempt + 1), MIN_CEILING_DB))
        tags = carry_tags(source, temporary, made.loudness_out.lufs(), made.peak)
        outcome = _outcome(source, destination, info, files.format_note(container, subtype, info), lossy,
                           options, render_options, plan, made, tags, time.perf_counter() - started,
                           started - loading if loaded_here else None)
        if before_commit is not None:
            output.before_rename = lambda finished: before_commit(finished, outcome)
        preset = None if options.save_preset is None else _applied_preset(made.session.engine, source, options, plan)
    if preset is not None:  # checked before the audio went into place, written after it, as the report
        write_atomically(options.save_preset, preset_text(preset))
        outcome.summary["saved_preset"] = (f"{options.save_preset} ({len(preset.eq)} filters; apply it with "
                                           f"--preset {options.save_preset})")
    if options.report is not None:
        made.session.timeline.write(options.report, outcome.summary, plan.tonal if plan else None)
    return outcome


def _applied_preset(engine: Engine, source: Path, options: Options, plan: TrackPlan) -> Preset:
    """The EQ the whole-track render applied (``--amount`` included, filters at 0 dB left
    out) as a preset named after its file: what a user edits and reuses."""
    from . import __version__

    filters = tuple(replace(f, gain_db=round(gain, 2)) for f, gain in engine.snapshot().eq_gains if round(gain, 2))
    made_by = f"inteleq-rt {__version__}, {options.mode} mode, amount {options.amount_percent:g}%, {time.strftime('%Y-%m-%d')}"
    return Preset(options.save_preset.stem, f"The EQ `inteleq-rt process` applied to {source.name}: {plan.why}.",
                  made_by, filters, None)


def _outcome(source: Path, destination: Path, info: files.AudioInfo, format_note: str, lossy: bool,
             options: Options, render_options: Options, plan: TrackPlan | None, made: _Render, tags: str, seconds: float,
             load_seconds: float | None) -> Outcome:
    """What a render did, in words (the summary) and numbers (``measured``)."""
    frames = made.frames
    summary = {"input": str(source), "output": str(destination), "seconds": round(frames / info.sample_rate, 3),
               "sample_rate": info.sample_rate, "channels": info.channels, "format": format_note,
               "render_seconds": round(seconds, 3),
               "realtime_factor": round(frames / info.sample_rate / max(seconds, 1e-9), 1)}
    if load_seconds is not None:
        summary["model_load_seconds"] = round(load_seconds, 3)
    if plan is not None:
        summary["eq"] = f"{plan.why}; one EQ for the whole track"
        if plan.gain_db is not None:
            summary["gain_after_eq_db"] = round(plan.gain_db, 2)
    peaks = f"{_db(made.peak, 'dBFS')} sample, {_db(made.true_peak, 'dBTP')} true"
    if lossy:
        peaks = f"{peaks}, as decoded" + (f" (limiter at {render_options.ceiling_db:.1f} dBFS for the encoder's "
                                          "overshoot)" if render_options.ceiling_db != options.ceiling_db else "")
    length_s = frames / info.sample_rate
    summary.update({"loudness_in": _lufs(made.loudness_in.lufs(), length_s),
                    "loudness_out": _lufs(made.loudness_out.lufs(), length_s),
                    "output_peak": peaks, "clipped_samples": made.clipped, "tags": tags})
    if made.quantize.bits is not None:
        summary["dither"] = (f"TPDF to {made.quantize.bits} bits" if options.dither
                             else f"none (rounded to {made.quantize.bits} bits)")
    summary["memory"] = memory_mb()
    outcome = made.session.finish(f"wrote {destination}", summary, write_report=False)
    limiting_db = made.session.engine.figures().deepest_limiting_db
    outcome.measured = {"loudness_in_lufs": made.loudness_in.lufs(), "loudness_out_lufs": made.loudness_out.lufs(),
                        "peak": made.peak, "true_peak": made.true_peak, "clipped_samples": made.clipped,
                        "audio_seconds": frames / info.sample_rate, "render_seconds": seconds,
                        "deepest_limiting_db": limiting_db}
    if limiting_db > AUDIBLE_LIMITING_DB:
        outcome.warnings.append(f"the limiter took up to {limiting_db:.1f} dB off peaks to hold "
                                f"the {options.ceiling_db:g} dBFS ceiling: expect audible pumping; "
                                "lower --target-lufs or --amount")
    if frames < info.frames:
        outcome.warnings.append(f"{source}: decoding stopped at {length_s:.2f} s of the {info.frames / info.sample_rate:.2f} s "
                                "its header gives (truncated or corrupt): the output holds what decoded")
    if options.target_lufs is not None:
        delivered = made.loudness_out.lufs()
        if not math.isfinite(delivered):
            outcome.warnings.append(f"--target-lufs {options.target_lufs:g} was not applied: the output's loudness "
                                    f"is {_lufs(delivered, length_s)}")
        elif abs(delivered - options.target_lufs) > TARGET_MISS_LU:
            outcome.warnings.append(f"--target-lufs {options.target_lufs:g}: delivered {delivered:.1f} LUFS; the "
                                    f"{options.ceiling_db:g} dBFS ceiling (or the +24 dB gain limit) holds it back")
    if lossy and made.true_peak > 10 ** (options.ceiling_db / 20):
        outcome.warnings.append(f"the encoder's output peaks at {_db(made.true_peak, 'dBTP')} after decoding, over "
                                f"the {options.ceiling_db:g} dB ceiling; lower --ceiling or use a lossless format")
    return outcome


def _lufs(value: float, seconds: float) -> str:
    if math.isfinite(value):
        return f"{value:.1f} LUFS"
    if seconds < LOUDNESS_BLOCK_S:
        return f"not measured (BS.1770 needs {LOUDNESS_BLOCK_S:g} s; the file is {seconds:.2f} s)"
    return "silent (below -70 LUFS)"


@dataclass
class Analysis:
    """A file run through the engine as `process` would, kept in memory for a picture."""

    session: Session
    audio: np.ndarray
    output: np.ndarray
    sample_rate: int
    tonal: RangeVerdict | None = None  # range mode: the track's balance against its range


def analyze_file(source: Path, options: Options = Options()) -> Analysis:
    """A file run as `process` would render it (one EQ for the track, decided from a first
    pass; ``options.follow``: the EQ following the track as live), kept in memory."""
    info = files.read_info(source)
    audio, rate = files.read_audio(source)
    presets = session_presets(options)
    check_genre(options.genre, presets)
    model = load_genre_model(options.weights, ", or choose a genre with --genre") if options.automatic else None
    plan = None if options.follow else plan_track(source, info, options, presets, model)
    while True:
        session = Session(plan.options if plan else options, rate, audio.shape[1],
                          presets=plan.presets if plan else presets, model=None if plan else model)
        if plan is not None:
            plan.apply(session.engine)
        output = np.empty_like(audio)
        blocks = (audio[start : start + FILE_BLOCK] for start in range(0, len(audio), FILE_BLOCK))
        position = 0
        for result in render_blocks(session.engine, blocks, session.after_block):
            output[position : position + result.shape[0]] = result
            position += result.shape[0]
        if plan is None or not plan.corrected(options):  # as process_file: rendered again if mispredicted
            break
    session.timeline.sample()
    if plan is not None or session.ranges is None:
        return Analysis(session, audio, output, rate, plan.tonal if plan else None)
    from .tonal.spectrum import LongTermSpectrum

    spectrum = LongTermSpectrum(rate)  # --follow: the whole track against the range it ended on
    spectrum.add(audio)
    return Analysis(session, audio, output, rate, session.range_verdict(spectrum.balance_db()))
