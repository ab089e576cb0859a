"""The commands that run audio through the engine: monitor (the default), process, analyze,
classify and demo. Each turns arguments into ``Options`` (arguments.py), calls the library and prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InteleqError
from ..session import Outcome
from .arguments import check_block_size, options_from
from .parser import PROG, names_folders


def show(outcome: Outcome) -> int:
    """Warnings on stderr, the summary on stdout, and a live stream's failure as the error."""
    for warning in outcome.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    print(outcome.title)
    for key, value in outcome.summary.items():
        print(f"  {key.replace('_', ' ')}: {value}")
    if outcome.genre_changes:
        print("  genre timeline: " + ", ".join(f"{t:.1f}s {g}" for t, g in outcome.genre_changes))
    if outcome.report is not None:
        print(f"  report: {outcome.report}")
    if outcome.failure is not None:
        raise InteleqError(f"the audio stream failed: {outcome.failure}")
    return 0


def run_monitor(args: argparse.Namespace) -> int:
    from ..io import devices

    if args.list_devices:
        print(devices.describe_devices())
        return 0
    from ..live import monitor

    check_block_size(args.block_size)
    return show(monitor(options_from(args), args.input_device or args.device, args.output_device or args.device,
                        args.block_size, args.channels, args.samplerate, args.duration))


def run_process(args: argparse.Namespace) -> int:
    if names_folders(args.input):
        if args.save_preset is not None:
            raise InteleqError("process: --save-preset saves one track's EQ; give one file, not folders")
        if args.output is None:
            raise InteleqError("process: -o/--output names the folder to write into")
        from .library import run_process_folders

        return run_process_folders(args)
    args.input = args.input[0]
    folders_only = [flag for flag, value in (("--format", args.format), ("--jobs", args.jobs), ("--dask", args.dask),
                                             ("--csv", args.csv), ("--jsonl", args.jsonl)) if value is not None]
    if folders_only:
        raise InteleqError(f"process: {folders_only[0]} is for folders; for one file, -o names its format "
                           "(and --report its timeline)")
    if args.output is None and not args.realtime:
        raise InteleqError("process: -o/--output is required (or --realtime to play to a device)")
    for flag, value in (("--target-lufs", args.target_lufs), ("--save-preset", args.save_preset)):
        if args.realtime and value is not None:
            raise InteleqError(f"process: {flag} needs the whole track first; it works offline, not with --realtime")
    check_block_size(args.block_size)  # offline too: a bad value is said, not silently ignored
    options = options_from(args, dither=args.dither, follow=args.follow, target_lufs=args.target_lufs,
                           save_preset=args.save_preset)
    if args.realtime:
        from ..live import play

        return show(play(args.input, options, args.output_device or args.device, args.block_size, args.output))
    from ..offline import process_file

    return show(process_file(args.input, args.output, options))


def run_analyze(args: argparse.Namespace) -> int:
    from ..io.atomic import check_can_write
    from ..plots import plot_analysis
    from ..offline import analyze_file

    check_can_write(args.plot, args.force, (args.input,))
    options = options_from(args, report=None, follow=args.follow)
    analysis = analyze_file(args.input, options)
    engine = analysis.session.engine
    snapshot = engine.snapshot()
    target = analysis.session.presets[snapshot.genre].target
    same_bands = target is not None and [tuple(b) for b in target.bands_hz] == [tuple(b) for b in engine.config.bands]
    timeline = analysis.session.timeline
    plot_analysis(args.input, analysis.audio, analysis.output, analysis.sample_rate, timeline.entries,
                  list(engine.config.bands), snapshot.eq_gains, list(target.levels_db) if same_bands else None,
                  args.plot, analysis.tonal)
    changes = timeline.genre_changes()
    print(f"{args.input}: {', '.join(f'{t:.1f}s {g}' for t, g in changes)}\nplot: {args.plot}")
    return 0


def _fresh_folder(base: Path) -> Path:
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def run_demo(args: argparse.Namespace) -> int:
    import soundfile as sf

    from ..demo import demo_clip
    from ..io.atomic import check_can_write
    from ..offline import process_file

    folder = args.out_dir or _fresh_folder(Path("inteleq-rt-demo"))
    folder.mkdir(parents=True, exist_ok=True)
    clip_path, out_path, report_path = folder / "demo-input.wav", folder / "demo-output.wav", folder / "demo-report.json"
    for path in (clip_path, out_path, report_path):
        check_can_write(path, args.force)
    audio, rate = demo_clip()
    sf.write(str(clip_path), audio, rate, subtype="FLOAT")
    options = options_from(args, report=report_path, force=True)
    outcome = process_file(clip_path, out_path, options)
    outcome.title = f"demo: equalized a synthesized clip in {folder}/ ({options.mode} mode, " + (
        "automatic genre)" if options.automatic else f"genre {options.genre})")
    return show(outcome)
