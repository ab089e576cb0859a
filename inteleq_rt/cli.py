"""`inteleq-rt`: live monitoring (default), file processing, presets, demo.

Every failure a user can cause ends in one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from pathlib import Path

from . import config as defaults

PROG = "inteleq-rt"
SUBCOMMANDS = ("process", "presets", "demo")
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error caused by input or environment, reported as one line."""


# -- argument parsing ------------------------------------------------------------------------
def _engine_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("equalizer")
    group.add_argument("--genre", default="flat",
                       help="preset to apply: rock_pop, classical, country, hiphop, jazz, disco or flat "
                            "(default: flat)")
    group.add_argument("--mode", choices=("preset", "match"), default="preset",
                       help="preset: the genre's EQ as written; match: steer each band toward the "
                            "genre's target balance from the measured levels (default: preset)")
    group.add_argument("--amount", type=float, default=100.0, metavar="PERCENT",
                       help="scale every EQ gain, 0-100 (default: 100)")
    group.add_argument("--crossfade", type=float, default=2.0, metavar="SECONDS",
                       help="crossfade time when the genre changes (default: 2)")
    group.add_argument("--bands", choices=("paper", "octave", "third-octave"), default="paper",
                       help="analysis bands: the paper's five, 11 octaves or 31 third-octaves (default: paper)")
    group.add_argument("--presets-dir", type=Path, default=defaults.PRESETS_DIR, metavar="DIR",
                       help="folder of preset .toml files (default: the bundled presets/)")
    group.add_argument("--report", type=Path, metavar="FILE.json",
                       help="write a timeline: time, genre, EQ gains, input/output band levels")
    group.add_argument("--force", action="store_true", help="overwrite existing output files")
    return parent


def _device_options(parser: argparse.ArgumentParser, with_input: bool) -> None:
    group = parser.add_argument_group("audio device")
    group.add_argument("-d", "--device", metavar="ID|NAME",
                       help="device index or name substring, e.g. 2 or \"system, JACK\"")
    if with_input:
        group.add_argument("--input-device", metavar="ID|NAME", help="capture device (overrides --device)")
    group.add_argument("--output-device", metavar="ID|NAME", help="playback device (overrides --device)")
    group.add_argument("-b", "--block-size", type=int, default=defaults.BLOCK_SIZE, metavar="FRAMES",
                       help=f"frames per audio callback (default: {defaults.BLOCK_SIZE})")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    engine = _engine_options()
    if command is None:
        parser = argparse.ArgumentParser(
            prog=PROG, parents=[engine],
            description="Genre-aware real-time equalizer. With no command, monitors a live input "
                        "through the EQ. Commands: process (files), presets, demo; "
                        f"`{PROG} COMMAND --help` for each.",
            epilog=f"examples:\n  {PROG} --list-devices\n  {PROG} --device 2 --genre jazz\n"
                   f"  {PROG} --device \"system, JACK\" --mode match --genre hiphop\n"
                   f"  {PROG} process song.wav -o song-eq.flac --genre rock_pop --report song.json\n"
                   f"  {PROG} presets show hiphop",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
        _device_options(parser, with_input=True)
        parser.add_argument("-r", "--samplerate", type=int, metavar="HZ",
                            help="stream sample rate (default: the device's)")
        parser.add_argument("-c", "--channels", type=int, metavar="N", help="channels (default: up to 2)")
        parser.add_argument("--duration", type=float, metavar="SECONDS",
                            help="stop after this long (default: run until Ctrl+C)")
        return parser
    if command == "process":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} process", parents=[engine],
            description="Equalize an audio file: offline as fast as possible (default), or played in "
                        "real time to a device with --realtime. Any format libsndfile reads; the output "
                        "format follows its extension; sample rate and channels are preserved.")
        parser.add_argument("input", type=Path, help="audio file to process")
        parser.add_argument("-o", "--output", type=Path, help="file to write (required unless --realtime)")
        parser.add_argument("--realtime", action="store_true",
                            help="play through the engine to an output device, paced at real time")
        _device_options(parser, with_input=False)
        return parser
    if command == "presets":
        parser = argparse.ArgumentParser(prog=f"{PROG} presets",
                                         description="List, show or validate genre presets.")
        parser.add_argument("action", nargs="?", choices=("list", "show", "validate"), default="list")
        parser.add_argument("names", nargs="*", help="show: a preset name; validate: preset files")
        parser.add_argument("--presets-dir", type=Path, default=defaults.PRESETS_DIR, metavar="DIR")
        return parser
    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo", parents=[engine],
        description="Synthesize a short music clip and equalize it (no audio device needed).")
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="folder for the demo files (default: a new ./inteleq-rt-demo*)")
    return parser


# -- shared helpers --------------------------------------------------------------------------
def _engine_config(args: argparse.Namespace, sample_rate: int, channels: int, analyze_output: bool = True):
    from .config import EngineConfig
    from .filterbank import band_set

    if not 0.0 <= args.amount <= 100.0:
        raise UserError(f"--amount {args.amount:g}: must be between 0 and 100")
    if not 0.01 <= args.crossfade <= 60.0:
        raise UserError(f"--crossfade {args.crossfade:g}: must be between 0.01 and 60 seconds")
    try:
        return EngineConfig(sample_rate=sample_rate, channels=channels, bands=band_set(args.bands),
                            crossfade_s=args.crossfade, mode=args.mode, amount=args.amount / 100.0,
                            presets_dir=args.presets_dir, analyze_output=analyze_output,
                            max_block_size=max(defaults.MAX_BLOCK_SIZE, getattr(args, "block_size", 0)))
    except ValueError as error:
        raise UserError(str(error)) from None


def _make_engine(args: argparse.Namespace, sample_rate: int, channels: int, analyze_output: bool = True):
    from .engine import Engine

    config = _engine_config(args, sample_rate, channels, analyze_output)
    try:
        return Engine(config, genre=args.genre)
    except ValueError as error:  # unknown genre, bad preset (PresetError is a ValueError)
        raise UserError(str(error)) from None


def _check_block_size(block_size: int) -> None:
    if not defaults.MIN_BLOCK_SIZE <= block_size <= defaults.MAX_BLOCK_SIZE:
        raise UserError(f"--block-size {block_size}: must be between {defaults.MIN_BLOCK_SIZE} "
                        f"and {defaults.MAX_BLOCK_SIZE} frames")


def _check_report(args: argparse.Namespace, *inputs: Path) -> None:
    from .audio_io import check_can_write

    if args.report is not None:
        check_can_write(args.report, args.force, inputs)


def _db(value: float) -> str:
    return f"{20 * math.log10(value):.1f} dBFS" if value > 0 else "-inf dBFS"


def status_line(engine, stats=None) -> str:
    """One compact line: time, genre (and fade), input band levels, EQ gains, callback load, xruns."""
    from .features import band_levels_db

    snap = engine.snapshot()
    relative, overall = band_levels_db(snap.input_band_ms, snap.input_overall_ms)
    genre = snap.genre + (f" (fade {snap.crossfade:.0%})" if snap.crossfade is not None else "")
    levels = " ".join(f"{v:+.0f}" for v in relative)
    gains = " ".join(f"{g:+.1f}" for _, g in snap.eq_gains) or "none"
    line = f"{snap.time_s:7.1f}s  {genre:<22} in {overall:6.1f} dB [{levels}]  eq [{gains}]"
    if stats is not None and stats.count:
        import numpy as np

        recent = stats.recent_durations()[-200:]
        line += f"  cb p99 {np.percentile(recent, 99) * 1e6:.0f}us  xruns {stats.xruns}"
    return line


class _StatusPrinter:
    """Rewrites one line on a terminal; prints a line every few seconds otherwise."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.tty = sys.stderr.isatty()
        self.every_s = every_s
        self._last = 0.0

    def show(self, line: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + line[:200] + "\033[K")
            sys.stderr.flush()
        elif time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _timing_summary(stats, block_size: int, sample_rate: int) -> dict:
    import numpy as np

    durations = stats.recent_durations()
    period_us = block_size / sample_rate * 1e6
    summary = {"callbacks": stats.count, "xruns": stats.xruns, "input_overflows": stats.input_overflows,
               "output_underflows": stats.output_underflows, "block_period_us": round(period_us, 1)}
    if len(durations):
        for name, value in (("median", np.median(durations)), ("p99", np.percentile(durations, 99)),
                            ("max", np.max(durations))):
            summary[f"callback_{name}_us"] = round(float(value) * 1e6, 1)
    return summary


def _print_summary(title: str, summary: dict, timeline) -> None:
    print(title)
    for key, value in summary.items():
        print(f"  {key.replace('_', ' ')}: {value}")
    changes = timeline.genre_changes()
    if changes:
        print("  genre timeline: " + ", ".join(f"{t:.1f}s {g}" for t, g in changes))


# -- commands --------------------------------------------------------------------------------
def run_monitor(args: argparse.Namespace) -> int:
    from . import audio_io
    from .report import Timeline

    if args.list_devices:
        print(audio_io.describe_devices())
        return 0
    _check_block_size(args.block_size)
    _check_report(args)
    input_device = audio_io.parse_device(args.input_device or args.device)
    output_device = audio_io.parse_device(args.output_device or args.device)
    rate, channels = audio_io.device_stream_settings(input_device, output_device, args.channels)
    engine = _make_engine(args, args.samplerate or rate, channels)
    timeline = Timeline(engine)
    printer = _StatusPrinter()
    deadline = time.monotonic() + args.duration if args.duration else math.inf
    source = audio_io.resolve_device(input_device, "input")["name"]
    print(f"monitoring {source!r} at {engine.config.sample_rate} Hz, {channels} ch, "
          f"{args.block_size}-frame blocks, {engine.config.mode} mode, genre {args.genre}; Ctrl+C stops",
          file=sys.stderr)

    def tick(stats) -> None:
        timeline.sample()
        printer.show(status_line(engine, stats))

    stats = audio_io.run_live(engine, input_device, output_device, args.block_size,
                              should_stop=lambda: time.monotonic() >= deadline, on_tick=tick)
    printer.close()
    timeline.sample()
    summary = {"seconds": round(engine.frames / engine.config.sample_rate, 2), "blocks": engine.blocks,
               **_timing_summary(stats, args.block_size, engine.config.sample_rate)}
    return _finish_stream("stopped", args, summary, timeline, stats)


def _finish_stream(title: str, args: argparse.Namespace, summary: dict, timeline, stats) -> int:
    """Summary, report, and the stream's own failure (if any) as the final one-line error."""
    if stats.error is not None:
        summary["stopped_by_error"] = str(stats.error)
    _print_summary(title, summary, timeline)
    if args.report is not None:
        timeline.write(args.report, summary)
        print(f"  report: {args.report}")
    if stats.error is not None:
        raise UserError(f"the audio stream failed: {stats.error}")
    return 0


def run_process(args: argparse.Namespace) -> int:
    from . import audio_io
    from .report import Timeline

    if args.output is None and not args.realtime:
        raise UserError("process: -o/--output is required (or --realtime to play to a device)")
    info = audio_io.read_info(args.input)
    if args.output is not None:
        audio_io.check_can_write(args.output, args.force, (args.input,))
        audio_io.output_format(args.output, info)
    _check_report(args, args.input)
    if args.realtime:
        return _play_realtime(args, info)
    # Output levels only feed the report; without one, offline rendering skips their analysis.
    engine = _make_engine(args, info.sample_rate, info.channels, analyze_output=args.report is not None)
    timeline = Timeline(engine)
    result = audio_io.render_file(engine, args.input, args.output, on_block=timeline.sample)
    timeline.sample()
    summary = {"input": str(args.input), "output": str(args.output), "seconds": round(result.frames / result.sample_rate, 3),
               "sample_rate": result.sample_rate, "channels": result.channels,
               "render_seconds": round(result.seconds, 3), "realtime_factor": round(result.realtime_factor, 1),
               "output_peak": _db(result.peak), "clipped_samples": result.clipped_samples}
    _print_summary(f"wrote {args.output}", summary, timeline)
    if result.clipped_samples:
        print(f"  warning: {result.clipped_samples} samples exceeded full scale and were clipped; "
              "lower --amount or write a float format (.wav as float is kept if the input is float)",
              file=sys.stderr)
    if args.report is not None:
        timeline.write(args.report, summary)
        print(f"  report: {args.report}")
    return 0


def _play_realtime(args: argparse.Namespace, info) -> int:
    import numpy as np

    from . import audio_io
    from .report import Timeline

    _check_block_size(args.block_size)
    output_device = audio_io.parse_device(args.output_device or args.device)
    sink = audio_io.resolve_device(output_device, "output")
    if info.channels > sink["max_output_channels"]:
        raise UserError(f"{args.input}: {info.channels} channels, but {sink['name']!r} has "
                        f"{sink['max_output_channels']} outputs")
    audio, rate = audio_io.read_audio(args.input)
    try:
        audio_io.check_output_rate(output_device, info.channels, rate)
    except audio_io.AudioError:
        new_rate = int(sink["default_samplerate"])
        print(f"{sink['name']!r} does not run at {rate} Hz: resampling to {new_rate} Hz", file=sys.stderr)
        audio, rate = audio_io.resample(audio, rate, new_rate), new_rate
    engine = _make_engine(args, rate, info.channels)
    timeline = Timeline(engine)
    printer = _StatusPrinter()
    processed = np.zeros_like(audio) if args.output is not None else None

    def tick(stats) -> None:
        timeline.sample()
        printer.show(status_line(engine, stats))

    stats = audio_io.play_file(engine, audio, output_device, args.block_size, tick, processed)
    printer.close()
    timeline.sample()
    summary = {"input": str(args.input), "seconds_played": round(engine.frames / rate, 2),
               "sample_rate": rate, **_timing_summary(stats, args.block_size, rate)}
    if processed is not None:
        audio_io.write_audio(args.output, processed[: min(engine.frames, len(audio))], rate, info)
        summary["output"] = str(args.output)
    return _finish_stream("played", args, summary, timeline, stats)


def run_presets(args: argparse.Namespace) -> int:
    from .presets import PresetError, load_preset_file, load_presets

    if args.action == "validate":
        files = [Path(n) for n in args.names] or sorted(Path(args.presets_dir).glob("*.toml"))
        if not files:
            raise UserError(f"{args.presets_dir}: no preset files (*.toml) found")
        failures = 0
        for path in files:
            try:
                load_preset_file(path)
                print(f"ok      {path}")
            except PresetError as error:
                failures += 1
                print(f"invalid {error}")
        return EXIT_ERROR if failures else 0
    presets = load_presets(args.presets_dir)
    if args.action == "list":
        for name, preset in sorted(presets.items()):
            print(f"{name:<10} {len(preset.eq)} filters  {preset.description}")
        return 0
    if len(args.names) != 1:
        raise UserError("presets show: name one preset, e.g. `presets show jazz`")
    name = args.names[0]
    if name not in presets:
        raise UserError(f"unknown preset {name!r}; available: {', '.join(sorted(presets))}")
    preset = presets[name]
    print(f"{preset.name}: {preset.description}\nfile: {preset.path}\n")
    print("EQ chain:" if preset.eq else "EQ chain: none")
    for f in preset.eq:
        print(f"  {f.kind:<10} {f.frequency_hz:8.0f} Hz  {f.gain_db:+5.1f} dB  Q {f.q:g}")
    if preset.target is not None:
        t = preset.target
        print("\ntarget balance (dB re overall):")
        for i, ((low, high), level) in enumerate(zip(t.bands_hz, t.levels_db)):
            spread = f" +/- {t.spread_db[i]:.1f}" if t.spread_db else ""
            print(f"  {low:7.0f}-{high:<7.0f} Hz  {level:+6.1f}{spread}")
    print(f"\nsource: {preset.source}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    import soundfile as sf

    from . import audio_io
    from .demo import demo_clip
    from .report import Timeline

    folder = args.out_dir or _fresh_folder(Path("inteleq-rt-demo"))
    folder.mkdir(parents=True, exist_ok=True)
    clip_path, out_path, report_path = folder / "demo-input.wav", folder / "demo-output.wav", folder / "demo-report.json"
    for path in (clip_path, out_path, report_path):
        audio_io.check_can_write(path, args.force)
    audio, rate = demo_clip()
    sf.write(str(clip_path), audio, rate, subtype="FLOAT")
    genre = args.genre if args.genre != "flat" else "hiphop"
    args.genre = genre
    engine = _make_engine(args, rate, audio.shape[1])
    timeline = Timeline(engine)
    result = audio_io.render_file(engine, clip_path, out_path, on_block=timeline.sample)
    timeline.sample()
    summary = {"seconds": round(result.frames / rate, 2), "genre": genre, "mode": args.mode,
               "realtime_factor": round(result.realtime_factor, 1), "output_peak": _db(result.peak)}
    timeline.write(report_path, summary)
    _print_summary(f"demo: equalized a synthesized clip in {folder}/", summary, timeline)
    print(f"  input:  {clip_path}\n  output: {out_path}\n  report: {report_path}")
    return 0


def _fresh_folder(base: Path) -> Path:
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


# -- entry point -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(command).parse_args(argv[1:] if command else argv)
    runner = {None: run_monitor, "process": run_process, "presets": run_presets, "demo": run_demo}[command]
    # SIGINT and SIGTERM stop cleanly, even when started where SIGINT was ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return runner(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no output was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as error:  # every error ends in one line, never a traceback
        from .audio_io import AudioError
        from .presets import PresetError

        if isinstance(error, (UserError, AudioError, PresetError)):
            print(f"{PROG}: error: {error}", file=sys.stderr)
        else:
            print(f"{PROG}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
