"""Watching a library run: a progress bar while it runs, a summary table when it ends.

The bar (rich, on stderr) counts files and hours of audio, and shows the real-time factor
and the time left; both come from the audio this run processed (skipped files cost nothing
and would flatter them). Without a terminal, a plain line every 10 s instead.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Iterable

from ..engine.config import AUDIBLE_LIMITING_DB
from .rows import FINISHED

PLAIN_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class Progress:
    """Files and audio done of ``total_seconds``; ``add`` each file's result as it finishes."""

    def __init__(self, what: str, files: int, total_seconds: float) -> None:
        self.what, self.files, self.total_seconds = what, files, total_seconds
        self.started = time.perf_counter()
        self.done_files = 0
        self.seconds_through = 0.0  # audio finished, skipped or failed
        self.seconds_worked = 0.0  # audio this run processed
        self._bar = self._task = None
        self._printed = self.started

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[line]}"),
                            console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.what, total=max(self.total_seconds, 1e-9), line=self.line())
        return self

    def __exit__(self, *_exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def add(self, result: dict) -> None:
        self.done_files += 1
        self.seconds_through += result["audio_seconds"]
        if result["status"] == "done":
            self.seconds_worked += result["audio_seconds"]
        if self._bar is not None:
            self._bar.update(self._task, completed=self.seconds_through, line=self.line())
        elif time.perf_counter() - self._printed >= PLAIN_EVERY_S:
            self._printed = time.perf_counter()
            print(f"{self.what}: {self.line()}", file=sys.stderr, flush=True)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        speed = self.seconds_worked / elapsed if elapsed > 0 else 0.0
        left = self.total_seconds - self.seconds_through
        eta = _duration(left / speed) if speed > 0 else "?"
        return (f"{self.done_files}/{self.files} files  {self.seconds_through / 3600:.2f}/"
                f"{self.total_seconds / 3600:.2f} h audio  {speed:.1f}x real time  ETA {eta}")


def summary(results: Iterable[dict], wall_seconds: float, where: str, interrupted: bool) -> str:
    """The table at the end: what was done, the genres found, what failed and why, and which
    files the limiter worked hard on or clipped."""
    results = list(results)
    status = Counter(r["status"] for r in results)
    worked = sum(r["audio_seconds"] for r in results if r["status"] == "done")
    audio = sum(r["audio_seconds"] for r in results)
    lines = [f"{len(results)} files, {audio / 3600:.2f} h of audio, in {_duration(wall_seconds)}: "
             f"{status['done']} done, {status['unchanged']} unchanged since an earlier run (skipped), "
             f"{status['failed']} failed" + ("; interrupted: the rest are left for the next run" if interrupted else "")]
    if status["done"] and wall_seconds > 0:
        rss = [r["peak_rss_mb"] for r in results if math.isfinite(r.get("peak_rss_mb", math.nan))]
        lines.append(f"throughput: {status['done'] / wall_seconds:.2f} files/s, {worked / wall_seconds:.1f} hours "
                     f"of audio per hour; {where}"
                     + (f"; peak memory per worker {max(rss):.0f} MB (RSS)" if rss else ""))
    genres = Counter(str(r.get("genre")) for r in results if r["status"] in FINISHED)
    if genres:
        lines += ["", f"{'genre':<14}{'files':>7}{'share':>8}"]
        finished = sum(genres.values())
        lines += [f"{name:<14}{count:>7}{count / finished:>8.0%}" for name, count in genres.most_common()]
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        lines += ["", f"failed ({len(failed)}):"] + [
            f"  {r['error'] if r['error'].startswith(r['input']) else r['input'] + ': ' + r['error']}" for r in failed]
    hard = [r for r in results if r["status"] in FINISHED and (float(r.get("deepest_limiting_db") or 0)
                                                              > AUDIBLE_LIMITING_DB or int(r.get("clipped_samples") or 0))]
    if hard:
        lines += ["", f"limited over {AUDIBLE_LIMITING_DB:g} dB or clipped ({len(hard)}):"]
        lines += [f"  {r['input']}: limiter {float(r.get('deepest_limiting_db') or 0):.1f} dB deep, "
                  f"{int(r.get('clipped_samples') or 0)} clipped samples" for r in hard]
    return "\n".join(lines)
