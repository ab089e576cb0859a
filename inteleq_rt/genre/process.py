"""Live: the genre classifier in its own process, so it never competes with the audio callback
for the GIL (a classifier thread raised the callback's p99 by 35-46% at 64 frames).

One block of shared memory (readable by this user alone, removed at exit, Ctrl+C included)
holds the engine's input ring, the classifier's command record and a status record. The
engine is handed the ring and the record before its first block (``Engine.link_classifier``)
and uses them exactly as it would its own; the child builds a ``ClassifierPort`` over the same
memory and runs ``GenreClassifier`` over the ring with its compiled code on one thread, scheduled
only when a core is idle (SCHED_IDLE) and on the last core alone, posts decisions into the
record and keeps a heartbeat. In range mode it also follows the input's long-term balance
(tonal/follow.py) and posts each genre's correction there, with a chosen genre too (then
without a model). If the child dies or hangs, the audio goes on with the genre and the
correction it had, and the supervisor starts a new one.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.commands import CommandRecord, command_dtype
from ..engine.port import ClassifierPort
from ..engine.ring import InputRing
from .status import StatusRecord, status_dtype

if TYPE_CHECKING:  # the classifier's process never loads the engine (numba)
    from ..engine.engine import Engine

# The child reads the ring this often: the mel frames it analyses arrive at 62.5 a second, a
# decision is due each second; waking 4 times a second instead of 20 disturbs the audio less.
POLL_S = 0.25
SEGMENT_PREFIX = "inteleq-rt-"  # then the owner's pid: /dev/shm/inteleq-rt-<pid>-<random>
HANG_S = 30.0  # a child silent this long (it beats every poll; SCHED_IDLE may starve it briefly) is hung


@dataclass(frozen=True)
class Layout:
    """Where each part lives in the shared block (offsets in bytes)."""

    frames: int
    channels: int
    genres: tuple[str, ...]
    classes: tuple[str, ...]
    curve_filters: int = 0  # range mode's gains per genre in the command record
    balance_bands: int = 0  # range mode's balance in the status record

    @property
    def ring_bytes(self) -> int:
        return self.frames * self.channels * 4

    @property
    def record_offset(self) -> int:
        return 8 + self.ring_bytes + (-(8 + self.ring_bytes) % 8)

    @property
    def status_offset(self) -> int:
        return self.record_offset + CommandRecord.size(len(self.genres), self.curve_filters)

    @property
    def size(self) -> int:
        return self.status_offset + StatusRecord.size(len(self.classes), self.balance_bands)

    def parts(self, memory: shared_memory.SharedMemory,
              max_block: int) -> tuple[InputRing, CommandRecord, StatusRecord]:
        """The input ring, the classifier's command record and its status record, over ``memory``."""
        buf = memory.buf
        counter = np.ndarray((1,), np.int64, buf, 0)
        ring = np.ndarray((self.frames, self.channels), np.float32, buf, 8)
        record = np.ndarray((), command_dtype(len(self.genres), self.curve_filters), buf, self.record_offset)
        status = np.ndarray((), status_dtype(len(self.classes), self.balance_bands), buf, self.status_offset)
        return (InputRing(self.frames, self.channels, max_block, ring, counter),
                CommandRecord(len(self.genres), record, self.curve_filters),
                StatusRecord(status, self.genres, self.classes))


def _child(name: str, layout: Layout, weights: str | None, ranges: dict | None, limits, sample_rate: int,
           max_block: int, period_s: float, blend: bool, poll_s: float) -> None:
    """The process beside the audio: attach, then classify (``weights``: a model's folder)
    and follow the balance (``ranges``: range mode's) until the parent goes away."""
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # the audio comes first: run only on a core nothing else wants (Linux), else at low priority;
    # and on the last core alone, so its caches are not the ones the audio thread came from
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    # (the attach registers the block with the parent's resource tracker, which already holds
    # it: the block is removed when the parent unlinks it, or by the tracker if the parent dies)
    memory = shared_memory.SharedMemory(name=name)
    ring, commands, status = layout.parts(memory, max_block)
    try:
        port = ClassifierPort(ring, commands, layout.genres, sample_rate, layout.channels)
        classifier = follower = None
        if weights is not None:
            from .classifier import GenreClassifier
            from .weights import load_model

            classifier = GenreClassifier(port, load_model(Path(weights)), period_s=period_s, blend=blend)
        if ranges is not None:
            from ..tonal.follow import RangeFollower
            from .classifier import holds_correction

            follower = RangeFollower(ranges, port, period_s, limits)
        status.fields["ready_at"] = time.time()
        parent = os.getppid()
        while os.getppid() == parent:
            if classifier is not None:
                classifier.step()
                status.publish(classifier)
            if follower is not None:
                follower.step(holding=holds_correction(classifier))
                if follower.balance is not None:
                    status.publish_balance(follower.balance)
            status.fields["heartbeat"] += 1
            time.sleep(poll_s)
    except Exception as error:  # one line, and no restart: it would fail the same way
        status.fields["failed"] = 1.0
        print(f"inteleq-rt: the classifier failed: {type(error).__name__}: {error}; the EQ holds its genre",
              file=sys.stderr, flush=True)


def _start_tracker_deaf_to_hangup() -> None:
    """multiprocessing's resource tracker (which removes the block if this process dies) is
    started with SIGINT and SIGTERM blocked, but not SIGHUP: a closing terminal killed it, and
    the block's removal then started a new tracker that printed a traceback. Started with
    SIGHUP blocked too, it inherits that mask and outlives the hang-up."""
    from multiprocessing import resource_tracker

    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class ClassifierProcess:
    """``with ClassifierProcess(engine, weights, classes):`` the classifier runs in a child
    process for the duration of a stream; ``supervise()`` (from the main thread's ticks)
    restarts it if it died or hung; ``latest`` and ``summary()`` read its status."""

    def __init__(self, engine: Engine, weights: Path | None, classes: tuple[str, ...], period_s: float = 1.0,
                 blend: bool = False, poll_s: float = POLL_S, hang_s: float = HANG_S,
                 ranges: dict | None = None, limits=None) -> None:
        """``weights`` None: no classifier (a chosen genre); ``ranges``: follow the balance
        for range mode (tonal/follow.py), within ``limits`` (tonal.rule.Limits)."""
        config = engine.config
        self.hang_s = hang_s
        self.classifies = weights is not None
        _start_tracker_deaf_to_hangup()
        bands = 0
        if ranges is not None:
            from ..tonal.spectrum import CENTRES_HZ

            bands = len(CENTRES_HZ)
        self.layout = Layout(engine.classifier_port.ring.buffer.shape[0], config.channels, engine.genres,
                             tuple(classes), engine.curve_filters, bands)
        # Named for its owner, so a leftover segment in /dev/shm says whose it was; mode 0600.
        self.memory = shared_memory.SharedMemory(create=True, size=self.layout.size,
                                                 name=f"{SEGMENT_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        ring, self._commands, self.record = self.layout.parts(self.memory, config.max_block_size)
        self.record.clear()
        engine.link_classifier(ring, self._commands)
        self._args = (self.memory.name, self.layout, None if weights is None else str(weights), ranges, limits,
                      config.sample_rate, config.max_block_size, period_s, blend, poll_s)
        self.process: multiprocessing.Process | None = None
        self.restarts = 0
        self._seen_beat, self._seen_at = -1.0, 0.0

    def _start(self) -> None:
        self.process = multiprocessing.get_context("spawn").Process(target=_child, args=self._args,
                                                                    name="inteleq-classifier", daemon=True)
        self.process.start()
        self._seen_beat, self._seen_at = float(self.record.fields["heartbeat"]), time.monotonic() + self.hang_s  # its start-up

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Wait until the child has loaded its model and started listening (or failed)."""
        deadline = time.monotonic() + timeout_s
        while not self.record.fields["heartbeat"] and not self.record.fields["failed"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(self.record.fields["heartbeat"])

    def supervise(self) -> None:
        """Restart a child that exited or stopped beating; the audio never waits for it."""
        now = time.monotonic()
        beat = float(self.record.fields["heartbeat"])
        if beat != self._seen_beat:
            self._seen_beat, self._seen_at = beat, now
        if self.record.fields["failed"]:
            return
        dead = self.process is not None and not self.process.is_alive()
        if dead or now - self._seen_at > self.hang_s:
            self._stop_child()
            self.restarts += 1
            self._start()

    @property
    def latest(self):
        """The child's last decision (classifier.Decision), or None before the first."""
        return self.record.latest()

    @property
    def balance(self) -> np.ndarray | None:
        """Range mode: the stream's balance as the child last judged it (None before then)."""
        return self.record.balance()

    def summary(self) -> dict:
        if not self.classifies:  # a chosen genre: the process only follows the balance
            return {"range_follower": "own process", **({"classifier_restarts": self.restarts} if self.restarts else {})}
        status = self.record.copy()
        summary = {"decisions": int(status["decisions"]), "unsure_decisions": int(status["unsure_decisions"]),
                   "classifier": "own process"}
        if status["call_ms"]:
            summary["classifier_last_call_ms"] = round(float(status["call_ms"]), 3)
            summary["classifier_call_p99_ms"] = round(float(status["call_p99_ms"]), 3)
        if self.process is not None and self.process.is_alive():
            summary["classifier_cpu_seconds"] = round(self.cpu_seconds(), 2)
        if status["ready_at"]:
            from ..io.streams import since_process_start

            summary["classifier_ready_after_start_s"] = round(since_process_start(float(status["ready_at"])), 3)
        if self.restarts:
            summary["classifier_restarts"] = self.restarts
        if status["failed"]:
            summary["classifier_failed"] = True
        return summary

    def pause(self, paused: bool) -> None:
        """Stop the child where it is (SIGSTOP) or let it go on (the live benchmark compares the
        callback with and without it, in one sitting). A stopped child counts as hung to
        ``supervise``: pause only where nothing supervises."""
        os.kill(self.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def cpu_seconds(self) -> float:
        """CPU time the current child has used (user + system)."""
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def _stop_child(self) -> None:
        """Kill the child; if it died mid-write, its records' writes end here (a new child
        writes them next)."""
        if self.process is not None:
            self.process.kill()
            self.process.join(timeout=5)
            if not self.process.is_alive():
                self.record.writer_gone()
                self._commands.writer_gone()
            self.process = None

    def __enter__(self) -> ClassifierProcess:
        self._start()
        return self

    def __exit__(self, *_exc) -> None:
        """Stop the child and remove the block's name; the mapping stays until this process
        ends, since the engine (and the final summary) still read through it."""
        self._stop_child()
        self.memory.unlink()
