"""The commands over many files: classify (files and folders) and process of folders. Each
builds the jobs, runs them through library.run (local workers or a Dask cluster), prints a
line per file or a progress bar, then the summary table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, InteleqError
from ..pool import Workers
from ..library.rows import RowReport
from ..library.run import Run, describe, run, survey
from ..options import Options
from .arguments import options_from

CLASSIFY_COLUMNS = ["input", "status", "genre", "music"]
PROCESS_COLUMNS = ["input", "output", "status", "genre", "loudness_in_lufs", "loudness_out_lufs", "gain_after_eq_db",
                   "peak_dbfs", "clipped_samples", "deepest_limiting_db", "tags", "eq", "warnings"]
COMMON_COLUMNS = ["error", "sha256", "audio_seconds", "work_seconds", "worker", "peak_rss_mb"]


REPORT_EXTENSIONS = {"--csv": ".csv", "--jsonl": ".jsonl"}


def _report(args: argparse.Namespace, columns: list[str]) -> RowReport | None:
    """The per-file report a run appends to; its name must end as its option says, so an
    audio file named by mistake is refused, never written into."""
    for option, path in (("--csv", args.csv), ("--jsonl", args.jsonl)):
        if path is None:
            continue
        if path.suffix.lower() != REPORT_EXTENSIONS[option]:
            raise InteleqError(f"{option} {path}: a report's name ends in {REPORT_EXTENSIONS[option]} "
                               "(an audio file is an input: name it without the option)")
        return RowReport(path, columns + COMMON_COLUMNS) if option == "--csv" else RowReport(path)
    return None


def _finish(outcome: Run, where: str, show_summary: bool, out=sys.stdout) -> int:
    if show_summary:
        print(("\n" if out is sys.stdout else "") + outcome.summary(where), file=out)
    if outcome.interrupted:
        print("inteleq-rt: interrupted; finished files are kept, none is left half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR if outcome.failed else 0


def _as_the_cluster_sees_it(options: Options) -> Options:
    """A cluster's workers have their own working folder and their own user folders: every
    file the options name, and the presets and model in force here, as absolute paths."""
    from dataclasses import replace

    from ..resources import presets_dir, shipped_presets, weights_dir

    presets = presets_dir(options.presets)
    return replace(options, presets=None if presets == shipped_presets() else presets.resolve(),
                   weights=weights_dir(options.weights).resolve() if options.automatic else None,
                   targets=options.targets and options.targets.resolve(),
                   reference=options.reference and options.reference.resolve(),
                   preset_file=options.preset_file and options.preset_file.resolve())


def _verdict_line(result: dict) -> str:
    ranked = sorted(result["probabilities"].items(), key=lambda item: -float(item[1]))
    line = (f"{result['input']}: {result['genre']}  (" + ", ".join(f"{n} {float(p):.0%}" for n, p in ranked)
            + f"; music {float(result['music']):.0%})")
    if result.get("tags"):
        line += "\n  tags: " + ", ".join(f"{t} {p:.0%}" for t, p in result["tags"].items())
    return line


def run_classify(args: argparse.Namespace) -> int:
    """Every file's probabilities; a file that fails prints its line and the rest go on."""
    from ..library.work import ClassifyJob, classify_one
    from ..resources import weights_dir
    from ..genre.weights import genre_model_classes

    workers = Workers(args.jobs, args.dask)
    weights = weights_dir(args.weights)
    classes = genre_model_classes(weights)
    found = survey(args.files)
    report = _report(args, CLASSIFY_COLUMNS + [f"p_{c}" for c in classes])
    known = report.finished() if report is not None and not args.force else {}
    paths = [workers.path(f.path) for f in found.found]
    jobs = [ClassifyJob(path, workers.path(weights), args.tags, known.get(str(path), {}).get("sha256"))
            for path in paths]
    verdicts = {}

    def show(result: dict) -> None:
        if result["status"] == "unchanged":  # the report's row says what it is
            old = known[result["input"]]
            probabilities = old.get("probabilities") or {c: old[f"p_{c}"] for c in classes if f"p_{c}" in old}
            result.update(genre=old["genre"], music=old["music"], probabilities=probabilities)
        if result["status"] == "failed":
            print(f"inteleq-rt: error: {result['error']}", file=sys.stderr)
            return
        verdicts[result["input"]] = {k: result[k] for k in ("genre", "music", "probabilities", "tags") if k in result}
        if not args.json:
            print(_verdict_line(result), flush=True)

    outcome = run("classifying", classify_one, jobs, found, workers, report, show)
    if args.json:
        print(json.dumps(verdicts, indent=1))
    many = len(jobs) + len(found.unreadable) > 1 or any(p.is_dir() for p in args.files)
    return _finish(outcome, describe(workers, len(jobs)), many, sys.stderr if args.json else sys.stdout)


def run_process_folders(args: argparse.Namespace) -> int:
    """Every audio file under the inputs into the same layout under -o, in parallel."""
    from ..io.files import is_audio_name
    from ..library.record import fingerprint
    from ..library.walk import output_paths
    from ..library.work import ProcessJob, process_one

    if args.realtime or args.report is not None:
        raise InteleqError("process of folders: --realtime and --report are for one file "
                           "(use --csv or --json for a row per file)")
    folder = args.output
    if folder.exists() and not folder.is_dir() or not folder.exists() and is_audio_name(folder):
        raise InteleqError(f"{folder}: for folders, -o names the output folder, not a file")
    extension = None if args.format is None else "." + args.format.lower().lstrip(".")
    if extension is not None:
        from ..io.files import container_of

        container_of(Path(f"output{extension}"))
    options = options_from(args, dither=args.dither, follow=args.follow, target_lufs=args.target_lufs,
                           report=None, force=False)
    workers = Workers(args.jobs, args.dask)
    if workers.dask is not None:
        options = _as_the_cluster_sees_it(options)
    made_with = fingerprint(options, extension or "")
    found = survey(args.input, leave_out=folder)
    outputs = output_paths(found.found, folder, extension)
    report = _report(args, PROCESS_COLUMNS)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [ProcessJob(workers.path(f.path), workers.path(out), options, made_with, args.force)
            for f, out in zip(found.found, outputs)]

    def show(result: dict) -> None:
        if result["status"] == "failed" and not sys.stderr.isatty():
            print(f"inteleq-rt: error: {result['error']}", file=sys.stderr)

    outcome = run("equalizing", process_one, jobs, found, workers, report, show)
    return _finish(outcome, describe(workers, len(jobs)), True)
