"""The commands around the audio path: train, bench, presets and plugins."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..errors import EXIT_ERROR, InteleqError
from .arguments import check_block_size
from .parser import PROG


def _progress_bar():
    """A rich progress bar on stderr, and the ``Progress`` callback training takes."""
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(transient=True, console=Console(stderr=True))

    def stage(what: str, total: int):
        task = bar.add_task(what, total=total)
        return lambda: bar.advance(task)

    return bar, stage


def _check_weights_folder(folder: Path, force: bool) -> None:
    """Before minutes of training: the weights folder can be written, and is not the user's."""
    from ..io.atomic import check_can_write

    if folder.exists() and not force:
        raise InteleqError(f"{folder}: exists; pass --force to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise InteleqError(f"{folder}: is a file; the weights go in a folder")
    if not folder.exists() and folder.parent != folder:
        folder.parent.mkdir(parents=True, exist_ok=True)
    check_can_write(folder / "model.json" if folder.is_dir() else folder, force=True)


def _headline(evaluation) -> tuple[float, float, float]:
    """Clip accuracy, clip macro-F1, excerpt accuracy of either kind of evaluation."""
    scores = evaluation.scores
    if "summary" in scores:
        return tuple(scores["summary"][k]["mean"] for k in ("clip_accuracy", "clip_macro_f1", "excerpt_accuracy"))
    return scores["clips"]["accuracy"], scores["clips"]["macro_f1"], scores["excerpts"]["accuracy"]


def run_train(args: argparse.Namespace) -> int:
    from ..engine.presets import load_presets
    from ..training import tag_workflow, workflow as training
    from ..pool import Workers
    from ..resources import named_weights

    if args.folds < 2:
        raise InteleqError(f"--folds {args.folds}: at least 2 are needed")
    kind = "paper" if args.baseline else args.model
    if args.non_music is not None and kind != "tags":
        raise InteleqError("--non-music teaches the tagger model's music detector: it needs --model tags")
    output = named_weights(args.name) if args.name else args.output
    if output is not None:
        _check_weights_folder(output, args.force)
    cache = None if args.no_cache else (args.cache_dir or training.dataset.default_cache_dir())
    workers = Workers(args.jobs, args.dask)
    datasets = [workers.path(folder) for folder in args.datasets]
    common = dict(mapping=args.mapping, folds=args.folds, cache_dir=cache and workers.path(cache),
                  known_genres=tuple(load_presets()), workers=workers)
    kinds = [kind] + ([k for k in ("tags", "filterbank", "paper") if k != kind] if args.compare else [])
    bar, stage = _progress_bar()
    evaluations = []
    with bar:
        for each in kinds:
            if each == "tags":
                from ..resources import shipped_weights

                evaluations.append(tag_workflow.evaluate(datasets, stage, shipped_weights() / tag_workflow.TAGGER,
                                                         **common))
            else:
                evaluations.append(training.evaluate(datasets, stage, baseline=each == "paper", seed=args.seed,
                                                     **common))
    for problem in evaluations[0].skipped:
        print(f"skipped {problem}", file=sys.stderr)
    for evaluation in evaluations:
        print(evaluation.report() + "\n")
    if len(evaluations) > 1:
        print(f"{'model (same corpus, same run)':<40} {'clip acc':>8} {'clip F1':>8} {'3 s acc':>8}")
        for evaluation in evaluations:
            print(f"{evaluation.name:<40} " + " ".join(f"{v:>8.3f}" for v in _headline(evaluation)))
    if output is None:
        return 0
    command, corpus_name = shlex.join([PROG, *sys.argv[1:]]), args.corpus_name or " + ".join(
        folder.resolve().name for folder in args.datasets)
    if kind == "tags":
        compared = [{"model": e.name, **dict(zip(("clip_accuracy", "clip_macro_f1", "excerpt_accuracy"),
                                                 _headline(e)))} for e in evaluations]
        tag_workflow.save(evaluations[0], output, command, corpus_name, args.seed, args.non_music, compared)
    else:
        training.save(evaluations[0], output, command, corpus_name, args.seed)
    print(f"wrote {output}/ (model.json, {'params.msgpack, ' if kind != 'tags' else ''}MODEL_CARD.md, targets.toml)")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    import json

    from ..io.atomic import check_can_write, write_atomically

    try:  # the options first: a typo is refused before the engine's imports (~2 s)
        sizes = tuple(int(n) for n in args.block_sizes.split(","))
    except ValueError:
        raise InteleqError(f"--block-sizes {args.block_sizes!r}: expected frame counts like 64,256") from None
    for size in (*sizes, args.live_block_size):
        check_block_size(size)
    if args.live_only and args.device is None:
        raise InteleqError("--live-only needs --device")
    if not 0.05 <= args.seconds <= 86_400:
        raise InteleqError(f"--seconds {args.seconds:g}: must be between 0.05 and 86400")
    if not 1 <= args.rounds <= 1000:
        raise InteleqError(f"--rounds {args.rounds}: must be between 1 and 1000")
    if not 1 <= args.channels <= 32:
        raise InteleqError(f"--channels {args.channels}: must be between 1 and 32")
    if args.json is not None:
        check_can_write(args.json, args.force)
    from .. import bench
    from ..genre.weights import genre_model_classes, load_genre_model
    from ..resources import weights_dir

    weights = None if args.no_classifier else weights_dir(args.weights)
    settings = bench.Settings(args.samplerate, args.channels, sizes, args.bands, args.seconds, weights)
    if args.profile:  # the engine alone: no model to load
        return _profile(settings, args)
    # live only: the classifier loads in its own process; this one reads its classes alone,
    # so the memory measured is the product's
    model = None if weights is None or args.live_only else load_genre_model(weights, ", or pass --no-classifier")
    classes = None if weights is None else model.classes if model is not None else genre_model_classes(weights)

    def progress(what: str) -> None:
        print(what, file=sys.stderr, flush=True)

    result = {"settings": {}} if args.live_only else bench.run(settings, progress, model)
    if args.device is not None:
        result["live"] = bench.measure_live(args.device, settings, args.live_block_size,
                                            classes, progress,
                                            jack_loopback=args.jack_loopback, plugins=args.plugin,
                                            rounds=args.rounds)
    if args.live_only:
        result = {"machine": bench.machine(), "live": result["live"]}
        print(bench.format_live(result["live"]))
    else:
        print(bench.format_table(result))
    if args.json is not None:
        write_atomically(args.json, json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


def _profile(settings, args: argparse.Namespace) -> int:
    """`bench --profile`: the per-stage profile at each block size, and nothing else."""
    import json

    from ..bench.harness import bench_audio
    from ..bench.profile import format_profile, measure_profile
    from ..io.atomic import write_atomically

    audio = bench_audio(settings)
    profiles = [measure_profile(settings, audio, size) for size in settings.block_sizes]
    print(format_profile(profiles))
    if args.json is not None:
        write_atomically(args.json, json.dumps({"profile": profiles}, indent=1))
        print(f"wrote {args.json}")
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    from ..engine.plugins import describe_parameters, parse_plugin_spec

    spec = parse_plugin_spec(args.plugin)
    lines = describe_parameters(spec)
    print(f"{spec.path}:")
    for line in lines:
        print(f"  {line}")
    return 0


def _validate_presets(args: argparse.Namespace) -> int:
    """Each file as what its name says it is: the targets file, the ranges file or a preset."""
    from ..engine.presets import RANGES_FILE, TARGETS_FILE, load_preset_file, load_targets
    from ..resources import presets_dir
    from ..tonal.targets import read_ranges

    folder = presets_dir(args.presets)
    files = [Path(n) for n in args.names] or sorted(p for p in folder.glob("*.toml"))
    if not files:
        raise InteleqError(f"{folder}: no preset files (*.toml) found")
    failures = 0
    for path in files:
        try:
            {TARGETS_FILE: load_targets, RANGES_FILE: read_ranges}.get(path.name, load_preset_file)(path)
            print(f"ok      {path}")
        except InteleqError as error:  # a PresetError, or ranges that do not fit our bands
            failures += 1
            print(f"invalid {error}")
    return EXIT_ERROR if failures else 0


def run_targets(args: argparse.Namespace) -> int:
    """Every genre's tonal range from the folders, written as the EQ's ranges file."""
    from ..io.atomic import AtomicOutput, check_can_write
    from ..tonal.targets import MIN_SONGS_PER_BAND, write_ranges
    from ..training.ranges import ranges_from_folders

    for folder in args.folders:
        if not folder.is_dir():
            raise InteleqError(f"{folder}: not a folder of genre folders")
    check_can_write(args.output, args.force)
    ranges = ranges_from_folders(args.folders)
    how = (f"Written by `inteleq-rt targets {' '.join(f.name for f in args.folders)}`: per genre, each song's\n"
           "1/3-octave balance (Welch, mono, silence left out, dB re its median band below 10 kHz), then the\n"
           "median and 10th-90th percentiles across songs, per band from the songs that reach it.")
    with AtomicOutput(args.output) as temporary:
        write_ranges(temporary, ranges, how)
    for genre, r in ranges.items():
        print(f"{genre:<11} {r.songs:4d} songs, {r.artists:3d} artists; bands with a range: "
              f"{int((r.songs_per_band >= MIN_SONGS_PER_BAND).sum())} of {len(r.songs_per_band)}")
    print(f"wrote {args.output}")
    return 0


def run_presets(args: argparse.Namespace) -> int:
    from ..engine.presets import load_presets

    if args.action == "validate":
        return _validate_presets(args)
    presets = load_presets(args.presets)
    if args.action == "list":
        for name, preset in sorted(presets.items()):
            print(f"{name:<10} {len(preset.eq)} filters  {preset.description}")
        return 0
    if len(args.names) != 1:
        raise InteleqError("presets show: name one preset, e.g. `presets show jazz`")
    name = args.names[0]
    if name not in presets:
        raise InteleqError(f"unknown preset {name!r}; available: {', '.join(sorted(presets))}")
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
        from ..io.atomic import check_can_write
        from ..plots import plot_preset

        check_can_write(args.plot, args.force)
        plot_preset(preset, args.samplerate, args.plot)
        print(f"plot: {args.plot}")
    return 0
