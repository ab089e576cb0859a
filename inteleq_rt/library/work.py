"""The work on one file, as a worker does it: classify it, or equalize it into the output
folder. Each task returns a plain dict (it crosses processes and machines): ``status`` is
"done", "unchanged" (finished by an earlier run, skipped) or "failed" with the one-line
``error``; a failure is the file's, never the run's. The genre model is loaded once per
worker (pool.worker_cached).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InteleqError
from ..memory import peak_rss_mb
from ..options import Options
from ..pool import worker_cached
from .record import content_hash, is_current, made_by_us, read_record, remove_leftovers, write_record


@dataclass(frozen=True)
class ClassifyJob:
    path: Path
    weights: Path
    tags: bool  # also the tagger's own top tags
    known_sha256: str | None = None  # the report has this file's row already, for these bytes


@dataclass(frozen=True)
class ProcessJob:
    source: Path
    output: Path
    options: Options  # no per-file report; --force is ``force``
    made_with: str  # record.fingerprint of the options: what the output's record must match
    force: bool = False


def _model(weights: Path):
    from ..genre.weights import load_genre_model

    return worker_cached(("genre model", str(weights)), lambda: load_genre_model(weights))


def _reason(error: BaseException) -> str:
    if isinstance(error, InteleqError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}"
    return f"internal error: {type(error).__name__}: {error}"


def _attempt(path: Path, work: Callable[[dict], None]) -> dict:
    """``work(result)`` fills in the result; its failure becomes the file's one-line error."""
    from ..io.files import read_info

    result = {"input": str(path), "status": "done", "error": None, "audio_seconds": 0.0}
    started = time.perf_counter()
    try:
        info = read_info(path)
        result["audio_seconds"] = round(info.frames / info.sample_rate, 3)
        work(result)
    except Exception as error:  # noqa: BLE001 - one file's failure, reported, never the run's
        result.update(status="failed", error=_reason(error))
    result.update(work_seconds=round(time.perf_counter() - started, 3), worker=f"{os.uname().nodename}:{os.getpid()}",
                  peak_rss_mb=peak_rss_mb())
    return result


def classify_one(job: ClassifyJob) -> dict:
    """A file's genre verdict (the mean of its windows' evidence: genre.whole_file)."""
    from ..genre.whole_file import classify_file

    def work(result: dict) -> None:
        result["sha256"] = content_hash(job.path)
        if result["sha256"] == job.known_sha256:
            result["status"] = "unchanged"
            return
        verdict = classify_file(job.path, _model(job.weights))
        result.update(genre=verdict.genre, music=verdict.music, probabilities=verdict.probabilities)
        if job.tags:
            result["tags"] = dict(verdict.top_tags)

    return _attempt(job.path, work)


def process_one(job: ProcessJob) -> dict:
    """Equalize a file into its place in the output folder (tagged, as process_file does),
    with its record; skipped when the record says the output is current."""
    from ..offline import process_file
    from ..resources import weights_dir

    def work(result: dict) -> None:
        result.update(output=str(job.output), sha256=content_hash(job.source))
        remove_leftovers(job.output)
        record = read_record(job.output)
        if not job.force and is_current(job.output, record, result["sha256"], job.made_with):
            result.update(record.get("result", {}), status="unchanged")
            return
        if job.output.exists() and not job.force and not made_by_us(job.output, record):
            raise InteleqError(f"{job.output}: exists and was not written by inteleq-rt; "
                               "pass --force to overwrite it")
        job.output.parent.mkdir(parents=True, exist_ok=True)
        model = _model(weights_dir(job.options.weights)) if job.options.automatic else None

        def keep_record(finished: Path, outcome) -> None:
            measured = outcome.measured
            figures = {"genre": outcome.genre_changes[-1][1] if outcome.genre_changes else job.options.genre,
                       "eq": outcome.summary.get("eq", ""), "gain_after_eq_db": outcome.summary.get("gain_after_eq_db"),
                       "loudness_in_lufs": _finite(measured["loudness_in_lufs"]),
                       "loudness_out_lufs": _finite(measured["loudness_out_lufs"]),
                       "peak_dbfs": _finite(20 * math.log10(measured["peak"]) if measured["peak"] > 0 else -math.inf),
                       "clipped_samples": measured["clipped_samples"],
                       "deepest_limiting_db": round(measured["deepest_limiting_db"], 2),
                       "warnings": outcome.warnings, "tags": outcome.summary["tags"]}
            write_record(finished, job.output, {"input": str(job.source), "input_sha256": result["sha256"],
                                                "fingerprint": job.made_with, "result": figures})
            result.update(figures)

        process_file(job.source, job.output, replace(job.options, force=True), model, keep_record)

    return _attempt(job.source, work)


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
