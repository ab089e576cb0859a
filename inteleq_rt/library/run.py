"""A library run from start to end: survey the files, hand them to the workers, keep each
result as it arrives (the report row, the caller's line), and say what happened.

Ctrl+C ends a run early but cleanly: what finished is kept (outputs with their records, the
report's rows), nothing half-written remains, and the summary says the rest is left for the
next run, which skips what is finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InteleqError
from ..io.files import read_info
from ..pool import Workers, parallel_map
from .progress import Progress, summary
from .rows import RowReport
from .walk import Found, find_audio


@dataclass
class Survey:
    """The audio files found, each one's length, and those unreadable from the start."""

    found: list[Found]
    seconds: list[float]
    unreadable: list[dict]


def survey(inputs: list[Path], leave_out: Path | None = None) -> Survey:
    """Walk ``inputs`` and read each file's header (cheap: the lengths give the progress its
    hours and ETA); a file whose header is unreadable fails here, and goes to no worker."""
    found, seconds, unreadable = [], [], []
    for item in find_audio(inputs, leave_out):
        try:
            info = read_info(item.path)
        except InteleqError as error:
            unreadable.append({"input": str(item.path), "status": "failed", "error": str(error),
                               "audio_seconds": 0.0, "work_seconds": 0.0})
            continue
        found.append(item)
        seconds.append(info.frames / info.sample_rate)
    if not found and not unreadable:
        raise InteleqError(f"no audio files in {', '.join(map(str, inputs))}")
    return Survey(found, seconds, unreadable)


def describe(workers: Workers, files: int) -> str:
    if workers.dask is not None:
        return f"on the Dask cluster at {workers.dask}"
    count = workers.local_count(files)
    return f"{count} local worker processes" if count > 1 else "1 process (this one)"


@dataclass
class Run:
    results: list[dict]
    wall_seconds: float
    interrupted: bool

    def summary(self, where: str) -> str:
        return summary(self.results, self.wall_seconds, where, self.interrupted)

    @property
    def failed(self) -> bool:
        return any(r["status"] == "failed" for r in self.results)


def run(what: str, task: Callable[[Any], dict], jobs: Sequence[Any], found: Survey, workers: Workers,
        report: RowReport | None, show: Callable[[dict], None]) -> Run:
    """Every job through ``task`` on ``workers``; each result shown and appended to the report,
    but for a file skipped as unchanged whose row the report holds already."""
    results: list[dict] = []
    started = time.perf_counter()
    interrupted = False

    def settle(result: dict) -> None:
        results.append(result)
        progress.add(result)
        if report is not None and not (result["status"] == "unchanged" and report.holds(result)):
            report.append(result)
        show(result)

    late: list[tuple[int, dict]] = []  # finished by workers on their way out of an interrupted run
    stream = parallel_map(task, jobs, workers, late)
    with Progress(what, len(jobs) + len(found.unreadable), sum(found.seconds)) as progress:
        try:
            for result in found.unreadable:
                settle(result)
            for _index, result in stream:
                settle(result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stream.close()  # stops the workers, if the run ends early
            for _index, result in late:
                settle(result)
            if report is not None:
                report.close()
    return Run(results, time.perf_counter() - started, interrupted)
