"""Streams on audio devices: live monitoring (duplex) and file playback, paced by the device.

Both run one callback body (``_Callback``): it calls the engine (or a stand-in), records
the time it took and any xrun into preallocated arrays, and on a failure ends the stream
cleanly with the reason kept for the main thread. The main thread supervises: it ticks the
display, notices a device that stopped calling back, and stops on request or Ctrl+C.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import interrupts
from .atomic import AudioError
from .devices import sounddevice

Process = Callable[[np.ndarray, np.ndarray], None]


@dataclass
class StreamStats:
    """What a live run measured: callback times (s), xruns, and any callback failure."""

    capacity: int = 1 << 18
    # a callback longer than this (half the block period, set when the stream opens) is slow:
    # one more such delay and the block is late
    slow_s: float = float("inf")
    slow_callbacks: int = 0
    # time.perf_counter() when the first callback finished: how long start-up took
    first_block_at: float | None = None
    durations: np.ndarray = field(init=False)
    # the indexes of the first callbacks that reported an xrun, so a summary can say when
    xrun_callbacks: np.ndarray = field(init=False)
    xrun_callback_count: int = 0
    count: int = 0
    input_overflows: int = 0
    output_underflows: int = 0
    error: BaseException | None = None
    # the callback itself ended the stream (end of file, or a failure in ``error``)
    ended_by_callback: bool = False
    # what the device says its input and output latencies are (s), once the stream is open
    reported_latency_s: tuple[float, float] | None = None
    # Ctrl+C, SIGTERM or SIGHUP ended the run (a caller running more than one stream stops too)
    interrupted: bool = False

    def __post_init__(self) -> None:
        self.durations = np.zeros(self.capacity)
        self.xrun_callbacks = np.zeros(64, dtype=np.int64)

    @property
    def xruns(self) -> int:
        return self.input_overflows + self.output_underflows

    def record(self, status, seconds: float) -> None:
        """Count the xruns PortAudio flagged (``sounddevice.CallbackFlags``) and store the time."""
        if status.input_overflow or status.output_underflow:
            if self.xrun_callback_count < len(self.xrun_callbacks):
                self.xrun_callbacks[self.xrun_callback_count] = self.count
            self.xrun_callback_count += 1
            self.input_overflows += bool(status.input_overflow)
            self.output_underflows += bool(status.output_underflow)
        self.durations[self.count % self.capacity] = seconds
        self.slow_callbacks += seconds > self.slow_s
        self.count += 1

    def first_block_after_start_s(self) -> float | None:
        """Seconds from this process's start to its first processed block."""
        if self.first_block_at is None:
            return None
        return round(since_process_start(time.time() - (time.perf_counter() - self.first_block_at)), 3)

    def first_xruns(self) -> np.ndarray:
        """Callback indexes of the first (up to 64) callbacks that reported an xrun."""
        return self.xrun_callbacks[: min(self.xrun_callback_count, len(self.xrun_callbacks))]

    def recent_durations(self, last: int | None = None) -> np.ndarray:
        """Callback times held (all, up to ``capacity``), or the ``last`` few, oldest first."""
        held = min(self.count, self.capacity)
        if last is None or last >= held:
            return self.durations[:held]
        return self.durations[np.arange(self.count - last, self.count) % self.capacity]


def since_process_start(wall_time: float) -> float:
    """Seconds from this process's start (interpreter start-up included) to a ``time.time()``
    moment. On Linux from the kernel's count of the start in clock ticks since boot (10 ms);
    psutil's create_time adds the boot time, which the kernel gives in whole seconds."""
    try:
        with open("/proc/self/stat") as stat:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
        return age - (time.time() - wall_time)
    except (OSError, AttributeError, ValueError, IndexError):
        import psutil

        return wall_time - psutil.Process().create_time()


class _Callback:
    """The callback body every stream shares. ``step(indata, outdata)`` fills ``outdata``
    (``indata`` is None on an output-only stream) and returns False when it has nothing
    more to play, which ends the stream."""

    def __init__(self, step: Callable[[np.ndarray | None, np.ndarray], bool], stats: StreamStats) -> None:
        self.sd = sounddevice()
        self.step = step
        self.stats = stats
        self.clock = time.perf_counter

    def __call__(self, indata: np.ndarray | None, outdata: np.ndarray, status) -> None:
        started = self.clock()
        try:
            more = self.step(indata, outdata)
        except Exception as error:  # reported by the main thread; the stream stops cleanly
            self.stats.error = error
            more = False
        if not more:
            self.stats.ended_by_callback = True
            outdata.fill(0.0)
            raise self.sd.CallbackAbort if self.stats.error is not None else self.sd.CallbackStop
        ended = self.clock()
        if self.stats.first_block_at is None:
            self.stats.first_block_at = ended
        self.stats.record(status, ended - started)


def _open(kind: str, **settings):
    """A sounddevice stream ("Stream" or "OutputStream"), or an AudioError saying why not."""
    sd = sounddevice()
    try:
        return getattr(sd, kind)(dtype="float32", **settings)
    except (sd.PortAudioError, ValueError) as error:
        raise AudioError(f"cannot open the audio stream: {error}") from None


def run_live(engine, input_device: int | str | None, output_device: int | str | None, block_size: int,
             should_stop: Callable[[], bool], on_tick: Callable[[StreamStats], None], tick_s: float = 0.5,
             process: Process | None = None, on_start: Callable[[], None] | None = None) -> StreamStats:
    """Monitor a live input through the engine until ``should_stop`` or Ctrl+C. ``process``
    replaces ``engine.process`` in the callback (the benchmark's loopback probe); ``on_start``
    runs once the stream runs (from then on, a signal stops it and the run is summarized)."""
    stats = StreamStats(slow_s=0.5 * block_size / engine.config.sample_rate)
    process = process or engine.process

    def step(indata: np.ndarray, outdata: np.ndarray) -> bool:
        process(indata, outdata)
        return True

    body = _Callback(step, stats)
    config = engine.config
    stream = _open("Stream", device=(input_device, output_device), samplerate=config.sample_rate,
                   blocksize=block_size, channels=config.channels,
                   callback=lambda indata, outdata, _frames, _time, status: body(indata, outdata, status))
    stats.reported_latency_s = tuple(stream.latency)
    _supervise(stream, stats, block_size / config.sample_rate, should_stop, on_tick, tick_s, on_start)
    return stats


class _FilePlayer:
    """Steps through a signal, one device block at a time, keeping the engine's output."""

    def __init__(self, engine, audio: np.ndarray, block_size: int, processed: np.ndarray | None) -> None:
        self.engine = engine
        self.total = audio.shape[0]
        self.padded = np.zeros((math.ceil(self.total / block_size) * block_size, audio.shape[1]), np.float32)
        self.padded[: self.total] = audio
        self.processed = processed
        self.position = 0

    def step(self, _indata: None, outdata: np.ndarray) -> bool:
        start, frames = self.position, outdata.shape[0]
        if start >= self.padded.shape[0]:
            return False
        self.engine.process(self.padded[start : start + frames], outdata)
        if self.processed is not None and start < self.total:
            end = min(start + frames, self.total)
            self.processed[start:end] = outdata[: end - start]
        self.position = start + frames
        return True


def play_file(engine, audio: np.ndarray, output_device: int | str | None, block_size: int,
              on_tick: Callable[[StreamStats], None], processed: np.ndarray | None = None,
              tick_s: float = 0.5) -> StreamStats:
    """Play audio through the engine to a device, paced by the device; stop at the end or Ctrl+C.

    ``processed`` (same shape as ``audio``), when given, receives the engine's output.
    """
    stats = StreamStats(slow_s=0.5 * block_size / engine.config.sample_rate)
    body = _Callback(_FilePlayer(engine, audio, block_size, processed).step, stats)
    finished = threading.Event()
    config = engine.config
    stream = _open("OutputStream", device=output_device, samplerate=config.sample_rate, blocksize=block_size,
                   channels=config.channels, finished_callback=finished.set,
                   callback=lambda outdata, _frames, _time, status: body(None, outdata, status))
    _supervise(stream, stats, block_size / config.sample_rate, finished.is_set, on_tick, tick_s)
    return stats


# Callbacks absent for this long (and at least this many block periods) mean the device is gone.
STALL_S = 2.0
STALL_PERIODS = 20


def _supervise(stream, stats: StreamStats, period_s: float, should_stop: Callable[[], bool],
               on_tick: Callable[[StreamStats], None], tick_s: float,
               on_start: Callable[[], None] | None = None) -> None:
    """Run a stream until it finishes, ``should_stop``, Ctrl+C, or its device stops calling back.

    A device that vanished (unplugged, its server killed) simply stops calling back; closing
    the stream then would wait on it forever or abort inside PortAudio, so the stream is
    abandoned instead and the run ends with the reason in ``stats.error``.
    """
    sd = sounddevice()
    stall_s = max(STALL_S, STALL_PERIODS * period_s)
    seen, seen_at = -1, time.monotonic()
    try:
        stream.start()
        if on_start is not None:
            on_start()
        while stream.active and not should_stop():
            time.sleep(tick_s)
            on_tick(stats)
            now = time.monotonic()
            if stats.count != seen:
                seen, seen_at = stats.count, now
            elif now - seen_at > stall_s:
                stats.error = AudioError(f"the device stopped calling back for {now - seen_at:.1f} s: "
                                         "disconnected, or its audio server stopped")
                break
    except KeyboardInterrupt:
        stats.interrupted = True
    except sd.PortAudioError as error:
        stats.error = error
    interrupts.finish()  # the stream is over: closing it and the summary are not cut short
    if _still_calling_back(stream, stats, period_s):
        stream.close()
    else:
        _abandon(stream)
        stats.error = stats.error or AudioError("the device stopped calling back: disconnected, "
                                                "or its audio server stopped")


def _still_calling_back(stream, stats: StreamStats, period_s: float) -> bool:
    """Whether the device behind a stream is alive: it still calls back, or the stream ended
    because our callback ended it. (PortAudio marks a stream inactive when its JACK server
    dies, and closing that stream would hang, then abort.)"""
    if not stream.active:
        return stats.ended_by_callback
    before = stats.count
    time.sleep(max(0.1, 4 * period_s))
    return stats.count != before


_ABANDONED_STREAMS: list = []


def _abandon(stream) -> None:
    """Leave a dead device's stream open: PortAudio cannot close it without the device, and
    would abort the process trying to at exit, so its exit hook is taken out too. The stream
    (and its callback) is kept alive, in case PortAudio ever calls it again."""
    import atexit

    _ABANDONED_STREAMS.append(stream)
    atexit.unregister(getattr(sounddevice(), "_exit_handler", lambda: None))
