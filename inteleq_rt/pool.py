"""One parallel map for every many-file job (process, classify, train's features): this
machine's cores, or the workers of a Dask cluster. No scheduler of our own.

A task is a plain module-level function of one picklable item that returns a picklable
result and reports its own failures in that result. A worker loads what its tasks share (a
genre model) once, through ``worker_cached``. Ctrl+C (or SIGTERM to this process) reaches
the local workers: each lets its task clean up (an output is written under a temporary
name, see io/atomic.py) and leaves; on a cluster, waiting tasks are cancelled and running
ones finish, so neither leaves a partial file. A local worker whose parent was killed
outright cleans up and leaves by itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import interrupts
from .errors import InteleqError

CLUSTER_EXTRA = "pip install 'inteleq-rt[cluster]'"
# How often a local worker looks for its parent, and how long a task may take to clean up once
# the parent is gone.
PARENT_CHECK_S = 0.25
CLEAN_UP_GRACE_S = 10.0


@dataclass(frozen=True)
class Workers:
    """Where the work runs: ``jobs`` local processes (None: one per core), or a Dask
    scheduler's ``dask`` address (then ``jobs`` is the cluster's business)."""

    jobs: int | None = None
    dask: str | None = None

    def __post_init__(self) -> None:
        if self.jobs is not None and not 1 <= self.jobs <= 512:
            raise InteleqError(f"--jobs {self.jobs}: must be between 1 and 512")

    def local_count(self, items: int) -> int:
        return max(1, min(self.jobs or os.cpu_count() or 1, items))

    def path(self, path: Path) -> Path:
        """A path as a task should name it: absolute for a cluster, whose workers have their own
        working folder."""
        return Path(path).resolve() if self.dask is not None else path


# -- in a worker ----------------------------------------------------------------------------
_shared: dict[Any, Any] = {}
_shared_lock = threading.Lock()
_busy = False


def _prepare_worker() -> None:
    """Once per worker, before anything heavy is imported: one thread each for XLA and BLAS
    (the workers are the parallelism; N workers x N threads fight for N cores)."""
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def worker_cached(key: Any, load: Callable[[], Any]) -> Any:
    """What ``load`` returns, loaded once per process (a worker, or the caller running the files
    itself) and shared by its tasks."""
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load()
        return _shared[key]


def _on_interrupt(_signal: int, _frame) -> None:
    if not _busy:  # between tasks: nothing to clean up
        os._exit(130)
    if interrupts.held_back():  # an output and its record are going into place: after that
        return
    for number in (signal.SIGINT, signal.SIGTERM):  # once: the clean-up itself must not be cut short
        signal.signal(number, signal.SIG_IGN)
    raise KeyboardInterrupt


def _leave_with_the_parent(parent: int) -> None:
    """A killed run (SIGKILL, a crash) sends its workers nothing: once the parent is gone, the
    worker interrupts itself, so its task cleans up as on Ctrl+C, and leaves; a task that does
    not return to Python within the grace time is ended anyway."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(CLEAN_UP_GRACE_S)
    os._exit(130)


def _start_local_worker() -> None:
    _prepare_worker()
    interrupts.leave_to_caller()
    signal.signal(signal.SIGINT, _on_interrupt)
    signal.signal(signal.SIGTERM, _on_interrupt)  # a user's `kill` too: clean up and leave
    threading.Thread(target=_leave_with_the_parent, args=(multiprocessing.parent_process().pid,),
                     name="parent watch", daemon=True).start()


def _run_in_cluster_worker(task: Callable[[Any], Any], item: Any) -> Any:
    _prepare_worker()  # before the first task imports anything heavy; harmless after
    return task(item)


class Stopped(Exception):
    """A task handed to a worker that was asked to stop: not run."""


def _run_in_local_worker(task: Callable[[Any], Any], item: Any) -> Any:
    global _busy
    if interrupts.stopping():  # a signal came over the last task's commit: that task finished, no other starts
        raise Stopped
    _busy = True
    try:
        return task(item)
    except KeyboardInterrupt:  # the task's own clean-up has run on the way out
        os._exit(130)
    finally:
        _busy = False


# -- in the caller ----------------------------------------------------------------------------
def parallel_map(task: Callable[[Any], Any], items: Sequence[Any], workers: Workers,
                 late: list[tuple[int, Any]] | None = None) -> Iterator[tuple[int, Any]]:
    """``(index, task(items[index]))`` for every item, as each finishes; when the run stops
    early, what local workers still finished on their way out (a file already going into
    place completes) is put in ``late``, so the caller can count it."""
    if not items:
        return
    if workers.dask is not None:
        yield from _on_cluster(task, items, workers.dask)
    elif workers.local_count(len(items)) == 1:
        # here: no process to start, nothing to pickle, and XLA may use every core
        for index, item in enumerate(items):
            yield index, task(item)
    else:
        yield from _on_cores(task, items, workers.local_count(len(items)), late if late is not None else [])


def map_in_order(task: Callable[[Any], Any], items: Sequence[Any], workers: Workers,
                 progress: Callable[[], None] = lambda: None) -> list[Any]:
    """Every ``task(item)``, in the items' order (``progress`` after each), however they finish."""
    results: list[Any] = [None] * len(items)
    for index, result in parallel_map(task, items, workers):
        results[index] = result
        progress()
    return results


def _on_cores(task: Callable[[Any], Any], items: Sequence[Any], count: int,
              late: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    import psutil

    # spawn, not fork: a fork of a process where JAX or numba started threads can deadlock
    others = {child.pid for child in psutil.Process().children()}
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_local_worker)
    pending = {pool.submit(_run_in_local_worker, task, item): index for index, item in enumerate(items)}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise InteleqError("a worker process died (out of memory? a crashing plugin?); what "
                                       "finished is kept: run again to go on") from None
                yield pending.pop(future), result
    except BaseException:  # Ctrl+C, SIGTERM, or the caller stopped: the workers clean up and leave
        for child in psutil.Process().children():
            if child.pid in others:
                continue
            try:
                child.send_signal(signal.SIGINT)
            except psutil.Error:
                pass
        pool.shutdown(wait=True, cancel_futures=True)
        late += [(index, future.result()) for future, index in pending.items()
                 if future.done() and not future.cancelled() and future.exception() is None]
        raise
    pool.shutdown(wait=True)


def _on_cluster(task: Callable[[Any], Any], items: Sequence[Any], address: str) -> Iterator[tuple[int, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InteleqError(f"--dask needs Dask's distributed scheduler: {CLUSTER_EXTRA}") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise InteleqError(f"--dask {address}: cannot reach the scheduler ({error})") from None
    with client:
        futures = client.map(_run_in_cluster_worker, [task] * len(items), items, pure=False)
        where = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - a task reports its own failures: this is the cluster's
                    raise InteleqError(f"the Dask cluster failed ({type(error).__name__}: {error}); what "
                                       "finished is kept: run again to go on") from None
                yield where[future.key], result
        except BaseException:  # waiting tasks are dropped; running ones finish their files whole
            client.cancel(futures)
            raise
