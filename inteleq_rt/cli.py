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
SUBCOMMANDS = ("process", "analyze", "presets", "demo", "train", "classify", "bench", "plugins")
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error caused by input or environment, reported as one line."""


# -- argument parsing ------------------------------------------------------------------------
def _engine_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("equalizer")
    group.add_argument("--genre",
                       help="preset to apply: rock_pop, classical, country, hiphop, jazz, disco or flat "
                            "(default: automatic, recognized by the genre model)")
    group.add_argument("--weights", type=Path, default=defaults.WEIGHTS_DIR / defaults.DEFAULT_MODEL, metavar="DIR",
                       help="genre model for automatic mode (default: the shipped weights/"
                            f"{defaults.DEFAULT_MODEL})")
    group.add_argument("--classify-every", type=float, default=1.0, metavar="SECONDS",
                       help="automatic mode: seconds between genre decisions (default: 1)")
    group.add_argument("--blend", action="store_true",
                       help="automatic match mode: steer toward the probability-weighted blend of the "
                            "genres' targets instead of the single decided genre")
    group.add_argument("--targets", type=Path, metavar="FILE.toml",
                       help="target balances for match mode (default: presets/targets.toml; "
                            "`train` writes one next to its weights)")
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
    group.add_argument("--plugin", action="append", default=[], metavar="PATH[:NAME=VALUE,...]",
                       help="insert a VST3 plugin, configured (repeatable; in the order given); "
                            f"`{PROG} plugins PATH` lists its parameters")
    group.add_argument("--plugin-position", choices=("pre", "post"), default="post",
                       help="plugins run before the EQ (the analysis and classifier hear them) or "
                            "after it (default: post)")
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
                        "through the EQ. Commands: process (files), analyze, classify, train, bench, presets, plugins, demo; "
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
    if command == "analyze":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} analyze", parents=[engine],
            description="Run a file through the engine (nothing written but the picture) and plot its band "
                        "levels over time, the genre probabilities over time, and what the EQ did: its "
                        "response, the input and output long-term spectra, the genre's target.")
        parser.add_argument("input", type=Path, help="audio file to analyse")
        parser.add_argument("--plot", type=Path, required=True, metavar="FILE.png", help="picture to write")
        return parser
    if command == "train":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} train",
            description="Train and cross-validate the genre model on a folder of genre folders "
                        "(GTZAN layout: blues/blues.00000.wav, ...). Prints accuracy, macro-F1 and the "
                        "confusion matrix; with -o, also writes the weights, a model card and the genre "
                        "targets for match mode.")
        parser.add_argument("dataset", type=Path, help="folder of genre folders")
        parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="weights folder to write")
        parser.add_argument("--baseline", action="store_true",
                            help="the paper's 6-12-6 tanh network on its 6 features, same protocol")
        parser.add_argument("--mapping", type=Path, metavar="FILE.toml",
                            help='folder-to-class mapping, lines like rock = "rock_pop" (default: GTZAN)')
        parser.add_argument("--corpus-name", metavar="TEXT",
                            help="what the corpus is, for the model card and targets (default: the folder name)")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--workers", type=int, help="feature extraction processes (default: all cores)")
        parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                            help="feature cache (default: ~/.cache/inteleq-rt/features)")
        parser.add_argument("--no-cache", action="store_true", help="extract features afresh, keep none")
        parser.add_argument("--force", action="store_true", help="overwrite an existing weights folder")
        return parser
    if command == "bench":
        parser = argparse.ArgumentParser(
            prog=f"{PROG} bench",
            description="Latency benchmark: the engine's time per block (median, p99, p99.9, max) as "
                        "a share of the block period, with the classifier beside it, against baselines "
                        "measured in the same run (scipy sosfilt, a plain pedalboard chain, a copy); "
                        "cost against analysis bands; offline real-time factor; classifier latency; "
                        "start-up time. No device needed; --device adds a live run with a loopback "
                        "round-trip measurement.")
        parser.add_argument("--block-sizes", default=",".join(map(str, defaults.BENCH_BLOCK_SIZES)), metavar="N,N,...",
                            help="frames per block to measure (default: %(default)s)")
        parser.add_argument("--samplerate", type=int, default=defaults.SAMPLE_RATE, metavar="HZ")
        parser.add_argument("--channels", type=int, default=2)
        parser.add_argument("--bands", choices=("paper", "octave", "third-octave"), default="paper")
        parser.add_argument("--seconds", type=float, default=4.0,
                            help="seconds of paced blocks per block size, or of the live run "
                                 "(default: 4; e.g. --block-sizes 256 --seconds 600 to soak)")
        parser.add_argument("--weights", type=Path, default=defaults.WEIGHTS_DIR / defaults.DEFAULT_MODEL,
                            metavar="DIR", help="the classifier run beside the engine")
        parser.add_argument("--no-classifier", action="store_true", help="measure the engine alone")
        parser.add_argument("--device", metavar="ID|NAME",
                            help="also run live on this duplex device; connect its outputs to its inputs "
                                 "to measure the round trip")
        parser.add_argument("--live-block-size", type=int, default=defaults.BLOCK_SIZE, metavar="FRAMES",
                            help=f"block size of the live run (default: {defaults.BLOCK_SIZE})")
        parser.add_argument("--jack-loopback", action="store_true",
                            help="with a JACK device: connect its outputs to its inputs for the round trip")
        parser.add_argument("--live-only", action="store_true", help="with --device: skip the offline part")
        parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
        parser.add_argument("--force", action="store_true", help="overwrite an existing --json file")
        return parser
    if command == "classify":
        parser = argparse.ArgumentParser(prog=f"{PROG} classify",
                                         description="Print each file's genre probabilities.")
        parser.add_argument("files", type=Path, nargs="+")
        parser.add_argument("--weights", type=Path, default=defaults.WEIGHTS_DIR / defaults.DEFAULT_MODEL,
                            metavar="DIR")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        return parser
    if command == "plugins":
        parser = argparse.ArgumentParser(prog=f"{PROG} plugins",
                                         description="List a VST3 plugin's parameters, their values and ranges.")
        parser.add_argument("plugin", metavar="PATH[:NAME=VALUE,...]")
        return parser
    if command == "presets":
        parser = argparse.ArgumentParser(prog=f"{PROG} presets",
                                         description="List, show or validate genre presets.")
        parser.add_argument("action", nargs="?", choices=("list", "show", "validate"), default="list")
        parser.add_argument("names", nargs="*", help="show: a preset name; validate: preset files")
        parser.add_argument("--presets-dir", type=Path, default=defaults.PRESETS_DIR, metavar="DIR")
        parser.add_argument("--plot", type=Path, metavar="FILE.png", help="show: also draw the EQ response")
        parser.add_argument("--samplerate", type=int, default=defaults.SAMPLE_RATE, metavar="HZ",
                            help="--plot: the rate to draw the response at (default: %(default)s)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
        return parser
    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo", parents=[engine],
        description="Synthesize a short music clip and equalize it (no audio device needed).")
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="folder for the demo files (default: a new ./inteleq-rt-demo*)")
    return parser


# -- shared helpers --------------------------------------------------------------------------
def _engine_config(args: argparse.Namespace, sample_rate: int, channels: int, analyze_output: bool):
    from .config import EngineConfig
    from .filterbank import band_set

    if not 0.0 <= args.amount <= 100.0:
        raise UserError(f"--amount {args.amount:g}: must be between 0 and 100")
    if not 0.01 <= args.crossfade <= 60.0:
        raise UserError(f"--crossfade {args.crossfade:g}: must be between 0.01 and 60 seconds")
    if not 0.1 <= args.classify_every <= 60.0:
        raise UserError(f"--classify-every {args.classify_every:g}: must be between 0.1 and 60 seconds")
    if args.blend and (args.mode != "match" or args.genre is not None):
        raise UserError("--blend needs --mode match and automatic genre (no --genre)")
    try:
        return EngineConfig(sample_rate=sample_rate, channels=channels, bands=band_set(args.bands),
                            crossfade_s=args.crossfade, mode=args.mode, amount=args.amount / 100.0,
                            presets_dir=args.presets_dir, analyze_output=analyze_output,
                            input_ring_s=8.0 if args.genre is None else 0.0,
                            max_block_size=max(defaults.MAX_BLOCK_SIZE, getattr(args, "block_size", 0)))
    except ValueError as error:
        raise UserError(str(error)) from None


def _load_weights(folder: Path, alternative: str = ""):
    from .model import WeightsError, load_model

    try:
        return load_model(folder)
    except WeightsError as error:
        raise UserError(f"{error}; train a model with `{PROG} train DATASET -o {folder}`{alternative}") from None


class _Run:
    """The engine, the classifier beside it (automatic mode) and the report timeline of a command."""

    def __init__(self, args: argparse.Namespace, sample_rate: int, channels: int,
                 analyze_output: bool = True) -> None:
        from .classifier import GenreClassifier
        from .engine import Engine
        from .plugins import PluginInsert, parse_plugin_spec
        from .presets import load_presets
        from .report import Timeline

        config = _engine_config(args, sample_rate, channels, analyze_output)
        model = _load_weights(args.weights, ", or choose a genre with --genre") if args.genre is None else None
        if model is not None:
            try:
                model.check_sample_rate(sample_rate)
            except ValueError as error:
                raise UserError(f"{error}, or choose a genre with --genre") from None
        try:
            presets = load_presets(config.presets_dir, args.targets)
            plugins = [PluginInsert(parse_plugin_spec(text), channels, sample_rate, config.max_block_size)
                       for text in args.plugin]
            around = {f"{args.plugin_position}_plugins": plugins}
            self.engine = Engine(config, presets, genre=args.genre or "flat", **around)
            self.classifier = None if model is None else GenreClassifier(
                self.engine, model, period_s=args.classify_every, blend=args.blend)
        except ValueError as error:  # unknown genre, bad preset (PresetError is a ValueError)
            raise UserError(str(error)) from None
        self.timeline = Timeline(self.engine, self.classifier)
        self.mode = "automatic" if model is not None else f"genre {args.genre}"

    def after_block(self, _engine=None) -> None:
        """Offline: classify synchronously (deterministic), then sample the timeline."""
        if self.classifier is not None:
            self.classifier.step()
        self.timeline.sample()

    def beside_audio(self):
        """Live: the classifier in its own thread for the duration of a stream."""
        from contextlib import nullcontext

        from .classifier import ClassifierThread

        return nullcontext() if self.classifier is None else ClassifierThread(self.classifier)

    def show(self, display, stats, block_size: int) -> None:
        """Live: sample the timeline and redraw the status display."""
        from .display import read_status

        self.timeline.sample()
        display.show(read_status(self.engine, self.classifier, stats, block_size, self.mode))

    def classifier_summary(self) -> dict:
        if self.classifier is None:
            return {}
        import numpy as np

        calls = np.array(self.classifier.call_seconds) * 1e3
        summary = {"decisions": len(self.classifier.decisions)}
        if len(calls):
            summary["classifier_call_median_ms"] = round(float(np.median(calls)), 3)
            summary["classifier_call_p99_ms"] = round(float(np.percentile(calls, 99)), 3)
        if self.classifier.lost_frames:
            summary["classifier_lost_frames"] = self.classifier.lost_frames
        return summary


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


def _timing_summary(stats, block_size: int, sample_rate: int) -> dict:
    import numpy as np

    durations = stats.recent_durations()
    period_us = block_size / sample_rate * 1e6
    summary = {"callbacks": stats.count, "xruns": stats.xruns, "input_overflows": stats.input_overflows,
               "output_underflows": stats.output_underflows, "block_period_us": round(period_us, 1)}
    if stats.xruns:
        summary["first_xruns_at_s"] = [round(float(i) * block_size / sample_rate, 2)
                                     for i in stats.first_xruns()[:8]]
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


def _finish(title: str, args: argparse.Namespace, summary: dict, run: _Run, stats=None) -> int:
    """Summary, report, and a stream's own failure (if any) as the final one-line error."""
    summary.update(run.classifier_summary())
    repaired = run.engine.repaired_samples
    if repaired:
        summary["repaired_input_samples"] = repaired
        print(f"{PROG}: warning: {repaired} input samples were NaN, infinite or beyond +90 dBFS; "
              "the engine heard silence (or the clamped value) in their place", file=sys.stderr)
    failure = stats.error if stats is not None else None
    if failure is not None:
        summary["stopped_by_error"] = str(failure)
    _print_summary(title, summary, run.timeline)
    if args.report is not None:
        run.timeline.write(args.report, summary)
        print(f"  report: {args.report}")
    if failure is not None:
        raise UserError(f"the audio stream failed: {failure}")
    return 0


# -- commands --------------------------------------------------------------------------------
def run_monitor(args: argparse.Namespace) -> int:
    from . import audio_io
    from .display import StatusDisplay

    if args.list_devices:
        print(audio_io.describe_devices())
        return 0
    _check_block_size(args.block_size)
    _check_report(args)
    input_device = audio_io.parse_device(args.input_device or args.device)
    output_device = audio_io.parse_device(args.output_device or args.device)
    rate, channels = audio_io.device_stream_settings(input_device, output_device, args.channels, args.samplerate)
    run = _Run(args, rate, channels)
    engine = run.engine
    deadline = time.monotonic() + args.duration if args.duration else math.inf
    source = audio_io.resolve_device(input_device, "input")["name"]
    print(f"monitoring {source!r} at {engine.config.sample_rate} Hz, {channels} ch, "
          f"{args.block_size}-frame blocks, {engine.config.mode} mode, {run.mode}; Ctrl+C stops",
          file=sys.stderr)

    with run.beside_audio(), StatusDisplay() as display:
        stats = audio_io.run_live(engine, input_device, output_device, args.block_size,
                                  should_stop=lambda: time.monotonic() >= deadline,
                                  on_tick=lambda stats: run.show(display, stats, args.block_size))
    run.timeline.sample()
    summary = {"seconds": round(engine.frames / engine.config.sample_rate, 2), "blocks": engine.blocks,
               **_timing_summary(stats, args.block_size, engine.config.sample_rate)}
    return _finish("stopped", args, summary, run, stats)


def run_process(args: argparse.Namespace) -> int:
    from . import audio_io

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
    run = _Run(args, info.sample_rate, info.channels, analyze_output=args.report is not None)
    result = audio_io.render_file(run.engine, args.input, args.output, on_block=run.after_block)
    run.timeline.sample()
    summary = {"input": str(args.input), "output": str(args.output), "seconds": round(result.frames / result.sample_rate, 3),
               "sample_rate": result.sample_rate, "channels": result.channels,
               "render_seconds": round(result.seconds, 3), "realtime_factor": round(result.realtime_factor, 1),
               "output_peak": _db(result.peak), "clipped_samples": result.clipped_samples}
    if result.clipped_samples:
        print(f"{PROG}: warning: {result.clipped_samples} samples exceeded full scale and were clipped; "
              "lower --amount or write a float format", file=sys.stderr)
    return _finish(f"wrote {args.output}", args, summary, run)


def run_analyze(args: argparse.Namespace) -> int:
    import numpy as np

    from . import audio_io
    from .plots import plot_analysis

    audio_io.check_can_write(args.plot, args.force, (args.input,))
    audio, rate = audio_io.read_audio(args.input)
    run = _Run(args, rate, audio.shape[1])
    engine, block = run.engine, 4096
    padded = np.zeros((-(-len(audio) // block) * block, audio.shape[1]), np.float32)
    padded[: len(audio)] = audio
    result = np.empty_like(padded)
    for start in range(0, len(padded), block):
        engine.process(padded[start : start + block], result[start : start + block])
        run.after_block()
    output = result[: len(audio)]
    snapshot = engine.snapshot()
    target = engine.presets[snapshot.genre].target
    target_db = (list(target.levels_db) if target is not None
                 and [tuple(b) for b in target.bands_hz] == [tuple(b) for b in engine.config.bands] else None)
    plot_analysis(args.input, audio, output, rate, run.timeline.entries, list(engine.config.bands),
                  snapshot.eq_gains, target_db, args.plot)
    changes = run.timeline.genre_changes()
    print(f"{args.input}: {', '.join(f'{t:.1f}s {g}' for t, g in changes)}\nplot: {args.plot}")
    return 0


def _play_realtime(args: argparse.Namespace, info) -> int:
    import numpy as np

    from . import audio_io
    from .display import StatusDisplay

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
    run = _Run(args, rate, info.channels)
    processed = np.zeros_like(audio) if args.output is not None else None
    with run.beside_audio(), StatusDisplay() as display:
        stats = audio_io.play_file(run.engine, audio, output_device, args.block_size,
                                   lambda stats: run.show(display, stats, args.block_size), processed)
    run.timeline.sample()
    summary = {"input": str(args.input), "seconds_played": round(run.engine.frames / rate, 2),
               "sample_rate": rate, **_timing_summary(stats, args.block_size, rate)}
    if processed is not None:
        audio_io.write_audio(args.output, processed[: min(run.engine.frames, len(audio))], rate, info)
        summary["output"] = str(args.output)
    return _finish("played", args, summary, run, stats)


def run_classify(args: argparse.Namespace) -> int:
    import json

    from . import audio_io
    from .features import extract_features

    model = _load_weights(args.weights)
    results = {}
    for path in args.files:
        audio, rate = audio_io.read_audio(path)
        try:
            model.check_sample_rate(rate)
        except ValueError as error:
            raise UserError(f"{path}: {error}") from None
        _, features = extract_features(audio, rate, model.spec, every_s=1.0)
        if len(features) == 0:
            raise UserError(f"{path}: shorter than the {model.spec.stats_window_s:g} s the model listens to")
        mean = model.probabilities(features).mean(axis=0)
        results[str(path)] = {name: round(float(p), 4) for name, p in zip(model.classes, mean)}
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for path, probabilities in results.items():
        ranked = sorted(probabilities.items(), key=lambda item: -item[1])
        print(f"{path}: {ranked[0][0]}  (" + ", ".join(f"{n} {p:.0%}" for n, p in ranked) + ")")
    return 0


def _check_weights_folder(folder: Path, force: bool) -> None:
    """Before minutes of training: the weights folder can be written, and is not the user's."""
    from .audio_io import check_can_write

    if folder.exists() and not force:
        raise UserError(f"{folder}: exists; pass --force to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file; the weights go in a folder")
    check_can_write(folder / "model.json" if folder.is_dir() else folder, force=True)


def run_train(args: argparse.Namespace) -> int:
    import datetime
    import shlex

    import soundfile as sf
    from rich.progress import Progress

    from . import training
    from .model import CLASSES, GenreModel
    from .presets import write_targets

    if args.folds < 2:
        raise UserError(f"--folds {args.folds}: at least 2 are needed")
    if args.output is not None:
        _check_weights_folder(args.output, args.force)
    mapping = training.read_mapping(args.mapping) if args.mapping else None
    clips, unmapped = training.discover(args.dataset, mapping)
    if unmapped:
        print(f"skipping folders with no class: {', '.join(unmapped)}", file=sys.stderr)
    rates = {sf.info(str(c.path)).samplerate for c in clips}
    recipe = training.baseline_recipe(min(rates) / 2) if args.baseline else training.default_recipe(min(rates) / 2)
    cache = None if args.no_cache else (args.cache_dir or training.default_cache_dir())
    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task(f"features of {len(clips)} clips", total=len(clips))
        corpus, problems = training.extract_corpus(clips, recipe.spec, recipe.example_every_s, cache,
                                                   args.workers, lambda: progress.advance(task))
        for problem in problems:
            print(f"skipped {problem}", file=sys.stderr)
        labels = [c.clip.label for c in corpus]
        small = [name for name in CLASSES if 0 < labels.count(name) < args.folds]
        if small or any(labels.count(name) == 0 for name in CLASSES):
            raise UserError(f"every class needs at least {args.folds} clips for {args.folds}-fold "
                            f"cross-validation (short: {', '.join(small) or 'a class has none'})")
        task = progress.add_task(f"{args.folds}-fold cross-validation", total=args.folds)
        evaluation = training.cross_validate(corpus, recipe, args.folds, args.seed,
                                             progress=lambda: progress.advance(task))
    name = "baseline (paper 6-12-6)" if args.baseline else "IntelEQ-RT model"
    print(training.format_evaluation(name, recipe, corpus, evaluation))
    if args.output is None:
        return 0
    corpus_name = args.corpus_name or args.dataset.resolve().name
    x, y, groups = training.stack(corpus, CLASSES)
    fitted = training.fit(x, y, groups, recipe, len(CLASSES), args.seed)
    record = {
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([PROG, *sys.argv[1:]]),
        "corpus": training.corpus_summary(args.dataset, corpus_name, corpus, rates),
        "recipe": training.recipe_summary(recipe),
        "cross_validation": evaluation,
        "final_epochs": fitted.epochs,
    }
    model = GenreModel(fitted.network, recipe.spec, fitted.mean, fitted.scale, CLASSES,
                       recipe.architecture, record)
    model.save(args.output, training.model_card(name, record, recipe, corpus, evaluation))
    targets_path = args.output / "targets.toml"
    write_targets(targets_path, training.measure_targets(corpus), defaults.PAPER_BANDS,
                  f"{corpus_name}: {len(corpus)} clips", min(rates) / 2)
    print(f"wrote {args.output}/ (model.json, params.msgpack, MODEL_CARD.md, targets.toml)")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    import json

    from . import audio_io, bench

    try:
        sizes = tuple(int(n) for n in args.block_sizes.split(","))
    except ValueError:
        raise UserError(f"--block-sizes {args.block_sizes!r}: expected frame counts like 64,256") from None
    for size in (*sizes, args.live_block_size):
        _check_block_size(size)
    if args.live_only and args.device is None:
        raise UserError("--live-only needs --device")
    if not 0.05 <= args.seconds <= 86_400:
        raise UserError(f"--seconds {args.seconds:g}: must be between 0.05 and 86400")
    if not 1 <= args.channels <= 32:
        raise UserError(f"--channels {args.channels}: must be between 1 and 32")
    if args.json is not None:
        audio_io.check_can_write(args.json, args.force)
    weights = None if args.no_classifier else args.weights
    model = None if weights is None else _load_weights(weights, ", or pass --no-classifier")
    settings = bench.Settings(args.samplerate, args.channels, sizes, args.bands, args.seconds, weights)

    def progress(what: str) -> None:
        print(what, file=sys.stderr, flush=True)

    try:
        result = {"settings": {}} if args.live_only else bench.run(settings, progress, model)
        if args.device is not None:
            result["live"] = bench.measure_live(args.device, settings, args.live_block_size, model, progress,
                                                jack_loopback=args.jack_loopback)
    except ValueError as error:  # a sample rate the model cannot use, a bad preset
        raise UserError(str(error)) from None
    if args.live_only:
        result = {"machine": bench.machine(), "live": result["live"]}
        print(bench.format_live(result["live"]))
    else:
        print(bench.format_table(result))
    if args.json is not None:
        with audio_io.AtomicOutput(args.json) as temporary:
            temporary.write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def run_plugins(args: argparse.Namespace) -> int:
    from .plugins import describe_parameters, parse_plugin_spec

    spec = parse_plugin_spec(args.plugin)
    lines = describe_parameters(spec)
    print(f"{spec.path}:")
    for line in lines:
        print(f"  {line}")
    return 0


def run_presets(args: argparse.Namespace) -> int:
    from .presets import PresetError, load_presets, validate_file

    if args.action == "validate":
        files = [Path(n) for n in args.names] or sorted(Path(args.presets_dir).glob("*.toml"))
        if not files:
            raise UserError(f"{args.presets_dir}: no preset files (*.toml) found")
        failures = 0
        for path in files:
            try:
                validate_file(path)
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
    if args.plot is not None:
        from .audio_io import check_can_write
        from .plots import plot_preset

        check_can_write(args.plot, args.force)
        plot_preset(preset, args.samplerate, args.plot)
        print(f"plot: {args.plot}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    import soundfile as sf

    from . import audio_io
    from .demo import demo_clip

    folder = args.out_dir or _fresh_folder(Path("inteleq-rt-demo"))
    folder.mkdir(parents=True, exist_ok=True)
    clip_path, out_path, report_path = folder / "demo-input.wav", folder / "demo-output.wav", folder / "demo-report.json"
    for path in (clip_path, out_path, report_path):
        audio_io.check_can_write(path, args.force)
    audio, rate = demo_clip()
    sf.write(str(clip_path), audio, rate, subtype="FLOAT")
    run = _Run(args, rate, audio.shape[1])
    result = audio_io.render_file(run.engine, clip_path, out_path, on_block=run.after_block)
    run.timeline.sample()
    summary = {"seconds": round(result.frames / rate, 2), "genre": run.mode, "mode": args.mode,
               "realtime_factor": round(result.realtime_factor, 1), "output_peak": _db(result.peak)}
    args.report = report_path
    _finish(f"demo: equalized a synthesized clip in {folder}/", args, summary, run)
    print(f"  input:  {clip_path}\n  output: {out_path}")
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
    runner = {None: run_monitor, "process": run_process, "analyze": run_analyze, "presets": run_presets,
              "demo": run_demo, "train": run_train, "classify": run_classify, "bench": run_bench,
              "plugins": run_plugins}[command]
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
        from .model import WeightsError
        from .plugins import PluginError
        from .presets import PresetError
        from .training import DatasetError

        if isinstance(error, (UserError, AudioError, PresetError, WeightsError, DatasetError, PluginError)):
            print(f"{PROG}: error: {error}", file=sys.stderr)
        elif isinstance(error, OSError) and error.strerror:  # the system's own words, with the file
            where = f"{error.filename}: " if error.filename else ""
            print(f"{PROG}: error: {where}{error.strerror}", file=sys.stderr)
        else:
            print(f"{PROG}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
