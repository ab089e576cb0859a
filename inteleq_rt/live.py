"""Live use: monitoring an input device through the EQ, and playing a file to a device in real
time. Each assembles a ``Session``, runs the stream with the classifier beside it and the
status display ticking, and returns the ``Outcome`` with the callback's timing.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from .controls import Controls
from .display import StatusDisplay, read_status
from .io import devices, files, streams
from .io.atomic import AudioError, check_can_write, check_outputs
from .options import Options
from .memory import memory_mb
from .session import Outcome, Session


def timing_summary(stats: streams.StreamStats, block_size: int, sample_rate: int) -> dict:
    """Callbacks, xruns (and when the first came), callbacks over half the period, callback time
    median/p99/max, and when the first block was processed (from the process's start)."""
    durations = stats.recent_durations()
    period_us = block_size / sample_rate * 1e6
    summary = {"callbacks": stats.count, "xruns": stats.xruns, "input_overflows": stats.input_overflows,
               "output_underflows": stats.output_underflows, "block_period_us": round(period_us, 1),
               "callbacks_over_half_period": stats.slow_callbacks,
               "first_block_after_start_s": stats.first_block_after_start_s()}
    if stats.xruns:
        summary["first_xruns_at_s"] = [round(float(i) * block_size / sample_rate, 2)
                                     for i in stats.first_xruns()[:8]]
    if len(durations):
        for name, value in (("median", np.median(durations)), ("p99", np.percentile(durations, 99)),
                            ("max", np.max(durations))):
            summary[f"callback_{name}_us"] = round(float(value) * 1e6, 1)
    return summary


def _ticker(session: Session, display: StatusDisplay, controls: Controls, block_size: int):
    """What the supervising thread does twice a second: sample the timeline, redraw, all from
    one snapshot (the panel's genre and its range are then of the same moment)."""
    def tick(stats: streams.StreamStats) -> None:
        session.supervise()
        snapshot = session.engine.snapshot()
        session.timeline.sample(snapshot)
        display.show(read_status(session.engine, session.classifier, stats, block_size, controls.mode(session.mode),
                                 controls.describe(), session.range_verdict(snapshot=snapshot), snapshot))

    return tick


def monitor(options: Options, input_device: str | None = None, output_device: str | None = None,
            block_size: int = 256, channels: int | None = None, sample_rate: int | None = None,
            duration_s: float | None = None) -> Outcome:
    """Monitor a live input through the EQ until ``duration_s``, Ctrl+C or SIGTERM."""
    if options.report is not None:
        check_can_write(options.report, options.force)
    source, sink = devices.parse_device(input_device), devices.parse_device(output_device)
    rate, channels = devices.device_stream_settings(source, sink, channels, sample_rate)
    session = Session(options, rate, channels, block_size=block_size, live=True)
    engine = session.engine
    deadline = time.monotonic() + duration_s if duration_s else math.inf
    name = devices.resolve_device(source, "input")["name"]

    def started() -> None:  # from here on a signal stops the stream and the run is summarized
        print(f"monitoring {name!r} at {rate} Hz, {channels} ch, {block_size}-frame blocks, "
              f"{engine.config.mode} mode, {session.mode}; Ctrl+C stops", file=sys.stderr, flush=True)

    with session.beside_audio(), StatusDisplay() as display, Controls(engine, session.home_genre) as controls:
        stats = streams.run_live(engine, source, sink, block_size, should_stop=lambda: time.monotonic() >= deadline,
                                 on_tick=_ticker(session, display, controls, block_size), on_start=started)
        memory = memory_mb()  # while the classifier's process still runs
    summary = {"seconds": round(engine.frames / rate, 2), "blocks": engine.blocks,
               **timing_summary(stats, block_size, rate), "memory": memory}
    return session.finish("stopped", summary, stats.error)


def play(source: Path, options: Options, output_device: str | None = None, block_size: int = 256,
         output: Path | None = None) -> Outcome:
    """Play a file through the EQ to a device, paced by the device; ``output`` keeps what played."""
    info = files.read_info(source)
    check_outputs({"-o": output, "--report": options.report}, options.force, (source,))
    if output is not None:
        files.output_format(output, info)
    device = devices.parse_device(output_device)
    sink = devices.resolve_device(device, "output")
    if info.channels > sink["max_output_channels"]:
        raise AudioError(f"{source}: {info.channels} channels, but {sink['name']!r} has "
                         f"{sink['max_output_channels']} outputs")
    audio, rate = files.read_audio(source)
    try:
        devices.check_output_rate(device, info.channels, rate)
    except AudioError:
        new_rate = int(sink["default_samplerate"])
        print(f"{sink['name']!r} does not run at {rate} Hz: resampling to {new_rate} Hz", file=sys.stderr)
        audio, rate = files.resample(audio, rate, new_rate), new_rate
    session = Session(options, rate, info.channels, block_size=block_size, live=True)
    engine = session.engine
    # Play on past the end for as long as the stream is late (the limiter's look-ahead, and
    # for plugins, whose latency shows once they run, half a second), so the tail is heard.
    frames = len(audio)
    tail = engine.latency_frames + (rate // 2 if engine.pre_plugins or engine.post_plugins else 0)
    audio = np.concatenate([audio, np.zeros((tail, audio.shape[1]), np.float32)])
    processed = np.zeros_like(audio) if output is not None else None
    with session.beside_audio(), StatusDisplay() as display, Controls(engine, session.home_genre) as controls:
        stats = streams.play_file(engine, audio, device, block_size,
                                  _ticker(session, display, controls, block_size), processed)
        memory = memory_mb()
    summary = {"input": str(source), "seconds_played": round(min(engine.frames, frames) / rate, 2),
               "sample_rate": rate, **timing_summary(stats, block_size, rate), "memory": memory}
    if processed is not None:  # what played, lined up with the input as an offline render is
        late = engine.latency_frames
        files.write_audio(output, processed[late : late + min(max(engine.frames - late, 0), frames)], rate, info)
        summary["output"] = str(output)
    return session.finish("played", summary, stats.error)
