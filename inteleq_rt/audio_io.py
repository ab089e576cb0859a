"""Sources and sinks: audio devices (sounddevice) and audio files (soundfile).

The engine never sees a device or a file; these functions feed it blocks and take its output.
Device callbacks only call ``Engine.process`` and record timings into preallocated arrays.
Files are written to a temporary name beside the target and renamed when complete, so an
interrupted or failed render never leaves a partial file that looks finished.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from .config import MIN_BLOCK_SIZE
from .engine import Engine


class AudioError(RuntimeError):
    """A device or file problem, worded for the user."""


# -- devices ---------------------------------------------------------------------------------
def _sounddevice():
    """sounddevice, imported on first device use: file processing needs no PortAudio."""
    try:
        import sounddevice
    except OSError as error:
        raise AudioError(f"audio devices need PortAudio ({error}); install it, e.g. "
                         "`apt-get install libportaudio2`") from None
    return sounddevice


def parse_device(spec: str | None) -> int | str | None:
    """A device given as an index ("2") or a name substring ("system, JACK")."""
    if spec is None or spec == "":
        return None
    return int(spec) if spec.strip().isdigit() else spec


def resolve_device(spec: int | str | None, kind: str) -> dict:
    """The device info for an index or a name substring, as sounddevice matches names."""
    sd = _sounddevice()
    try:
        return dict(sd.query_devices(spec, kind=kind))
    except (ValueError, sd.PortAudioError) as error:
        wanted = "the default device" if spec is None else f"device {spec!r}"
        first, *candidates = str(error).splitlines()  # an ambiguous name: one candidate per line
        if candidates:
            raise AudioError(f"{kind} {wanted} is ambiguous: it matches {', '.join(candidates)}; "
                             "give an index or more of the name") from None
        raise AudioError(f"no {kind} {wanted}: {first} (see `inteleq-rt --list-devices`)") from None


def describe_devices() -> str:
    return str(_sounddevice().query_devices())


@dataclass
class StreamStats:
    """What a live run measured: callback times (s), xruns, and any callback failure."""

    capacity: int = 1 << 18
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
        self.count += 1

    def first_xruns(self) -> np.ndarray:
        """Callback indexes of the first (up to 64) callbacks that reported an xrun."""
        return self.xrun_callbacks[: min(self.xrun_callback_count, len(self.xrun_callbacks))]

    def recent_durations(self, last: int | None = None) -> np.ndarray:
        """Callback times held (all, up to ``capacity``), or the ``last`` few, oldest first."""
        held = min(self.count, self.capacity)
        if last is None or last >= held:
            return self.durations[:held]
        return self.durations[np.arange(self.count - last, self.count) % self.capacity]


def run_live(
    engine: Engine,
    input_device: int | str | None,
    output_device: int | str | None,
    block_size: int,
    should_stop: Callable[[], bool],
    on_tick: Callable[[StreamStats], None],
    tick_s: float = 0.5,
    process: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> StreamStats:
    """Monitor a live input through the engine until ``should_stop`` or Ctrl+C. ``process``
    replaces ``engine.process`` in the callback (the benchmark's loopback probe)."""
    sd = _sounddevice()
    stats = StreamStats()
    clock = time.perf_counter
    process = process or engine.process

    def callback(indata, outdata, frames, _time, status) -> None:
        started = clock()
        try:
            process(indata, outdata)
        except Exception as error:  # reported by the main thread; the stream stops cleanly
            stats.error = error
            stats.ended_by_callback = True
            outdata.fill(0.0)
            raise sd.CallbackAbort from None
        stats.record(status, clock() - started)

    config = engine.config
    try:
        stream = sd.Stream(
            device=(input_device, output_device),
            samplerate=config.sample_rate,
            blocksize=block_size,
            channels=config.channels,
            dtype="float32",
            callback=callback,
        )
    except (sd.PortAudioError, ValueError) as error:
        raise AudioError(f"cannot open the audio stream: {error}") from None
    stats.reported_latency_s = tuple(stream.latency)
    _supervise(stream, stats, block_size / config.sample_rate, should_stop, on_tick, tick_s)
    return stats


# Callbacks absent for this long (and at least this many block periods) mean the device is gone.
STALL_S = 2.0
STALL_PERIODS = 20


def _supervise(stream, stats: StreamStats, period_s: float, should_stop: Callable[[], bool],
               on_tick: Callable[[StreamStats], None], tick_s: float) -> None:
    """Run a stream until it finishes, ``should_stop``, Ctrl+C, or its device stops calling back.

    A device that vanished (unplugged, its server killed) simply stops calling back; closing
    the stream then would wait on it forever or abort inside PortAudio, so the stream is
    abandoned instead and the run ends with the reason in ``stats.error``.
    """
    sd = _sounddevice()
    stall_s = max(STALL_S, STALL_PERIODS * period_s)
    seen, seen_at = -1, time.monotonic()
    try:
        stream.start()
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
        pass
    except sd.PortAudioError as error:
        stats.error = error
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
    atexit.unregister(getattr(_sounddevice(), "_exit_handler", lambda: None))


def check_output_rate(device: int | str | None, channels: int, sample_rate: int) -> None:
    """Raise AudioError if the output device cannot play this rate and channel count."""
    sd = _sounddevice()
    try:
        sd.check_output_settings(device, channels=channels, samplerate=sample_rate)
    except (sd.PortAudioError, ValueError) as error:
        raise AudioError(f"output device cannot play {channels} ch at {sample_rate} Hz: {error}") from None


def device_stream_settings(
    input_device: int | str | None, output_device: int | str | None, channels: int | None,
    sample_rate: int | None = None,
) -> tuple[int, int]:
    """Sample rate (by default the output device's) and channel count a duplex stream on these
    devices can use."""
    sd = _sounddevice()
    source = resolve_device(input_device, "input")
    sink = resolve_device(output_device, "output")
    available = min(source["max_input_channels"], sink["max_output_channels"])
    wanted = channels or min(2, available)
    if wanted > available:
        raise AudioError(
            f"{wanted} channels asked for, but {source['name']!r} / {sink['name']!r} offer {available}"
        )
    default_rate = int(sink["default_samplerate"])
    if sample_rate is not None and sample_rate != default_rate:
        try:
            sd.check_input_settings(input_device, channels=wanted, samplerate=sample_rate)
            sd.check_output_settings(output_device, channels=wanted, samplerate=sample_rate)
        except (sd.PortAudioError, ValueError):
            raise AudioError(f"{source['name']!r} / {sink['name']!r} cannot run at {sample_rate} Hz; "
                             f"leave out --samplerate to use their {default_rate} Hz") from None
    return sample_rate or default_rate, wanted


# -- files -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str


def read_info(path: Path) -> AudioInfo:
    if Path(path).is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not Path(path).is_file():
        raise AudioError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({error})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: holds no audio frames")
    return AudioInfo(info.samplerate, info.channels, info.frames, info.format, info.subtype)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """A whole file as float32 (frames, channels)."""
    read_info(path)
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: cannot decode: {error}") from None
    return audio, rate


def output_format(path: Path, like: AudioInfo) -> tuple[str, str]:
    """Container from the extension; the input's sample format when that container holds it."""
    extension = Path(path).suffix.lstrip(".").upper()
    formats = sf.available_formats()
    if extension not in formats:
        known = ", ".join(sorted(f".{e.lower()}" for e in formats))
        raise AudioError(f"{path}: unknown output format {Path(path).suffix or '(no extension)'}; use one of {known}")
    subtype = like.subtype if sf.check_format(extension, like.subtype) else sf.default_subtype(extension)
    if not sf.check_format(extension, subtype, None):
        raise AudioError(f"{path}: cannot write {extension} files")
    return extension, subtype


def check_can_write(path: Path, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse, before any work, to overwrite the user's files or write where nothing can go."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and path.resolve() == Path(source).resolve():
            raise AudioError(f"{path}: output would overwrite the input")
    if path.exists() and not force:
        raise AudioError(f"{path}: exists; pass --force to overwrite it")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder")
    if not path.parent.is_dir():
        raise AudioError(f"{path}: folder {path.parent} does not exist")
    # the real test (permissions, read-only filesystems, quotas), before a long run
    _temporary_beside(path, ".probe").unlink()


def _temporary_beside(path: Path, suffix: str) -> Path:
    """A new empty hidden file in ``path``'s folder (so a rename onto ``path`` is atomic)."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as error:
        raise AudioError(f"{path}: cannot write in {path.parent}: {error.strerror}") from None
    os.close(handle)
    return Path(name)


class AtomicOutput:
    """``with AtomicOutput(path) as temporary:`` write to ``temporary``; on success it is
    renamed to ``path``, on any failure (or Ctrl+C) it is removed and ``path`` is untouched."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.temporary = _temporary_beside(self.path, ".partial")
        return self.temporary

    def __exit__(self, kind, error, _traceback) -> None:
        if error is None:
            os.replace(self.temporary, self.path)
            return
        self.temporary.unlink(missing_ok=True)
        if isinstance(error, (sf.LibsndfileError, OSError)):
            raise AudioError(f"{self.path}: writing failed: {error}") from None


def is_integer_format(subtype: str) -> bool:
    """Whether samples beyond full scale must be clipped before writing."""
    return subtype.startswith("PCM") or subtype in ("ULAW", "ALAW", "DPCM_8", "DPCM_16")


def write_audio(path: Path, audio: np.ndarray, rate: int, like: AudioInfo) -> None:
    """Write a whole signal atomically, in the format ``output_format`` picks for ``path``."""
    container, subtype = output_format(path, like)
    if is_integer_format(subtype):
        audio = np.clip(audio, -1.0, 1.0)
    with AtomicOutput(path) as temporary:
        sf.write(str(temporary), audio, rate, subtype=subtype, format=container)


@dataclass(frozen=True)
class RenderResult:
    frames: int
    sample_rate: int
    channels: int
    seconds: float
    peak: float
    clipped_samples: int

    @property
    def realtime_factor(self) -> float:
        return (self.frames / self.sample_rate) / max(self.seconds, 1e-9)


def render_file(
    engine: Engine,
    source: Path,
    destination: Path,
    block_size: int = 4096,
    on_block: Callable[[Engine], None] | None = None,
) -> RenderResult:
    """Process a whole file through the engine as fast as possible, writing atomically."""
    info = read_info(source)
    container, subtype = output_format(destination, info)
    integer_output = is_integer_format(subtype)
    channels = engine.config.channels
    if info.channels != channels or info.sample_rate != engine.config.sample_rate:
        raise AudioError(f"{source}: engine was set up for another rate or channel count")
    padded = np.zeros((max(MIN_BLOCK_SIZE, channels + 1), channels), dtype=np.float32)
    out = np.empty((block_size, channels), dtype=np.float32)
    peak, clipped, frames = 0.0, 0, 0
    started = time.perf_counter()
    with AtomicOutput(destination) as temporary:
        with sf.SoundFile(str(source)) as reader, sf.SoundFile(
            str(temporary), "w", info.sample_rate, channels, subtype, format=container
        ) as writer:
            for block in _read_blocks(reader, source, block_size):
                n = block.shape[0]
                if n < padded.shape[0]:  # a short tail: pad it to a block the engine takes
                    padded[:] = 0.0
                    padded[:n] = block
                    engine.process(padded, out[: padded.shape[0]])
                else:
                    engine.process(block, out[:n])
                result = out[:n]
                peak = max(peak, float(np.max(np.abs(result))))
                if integer_output:
                    clipped += int(np.count_nonzero(np.abs(result) > 1.0))
                    np.clip(result, -1.0, 1.0, out=result)
                writer.write(result)
                frames += n
                if on_block is not None:
                    on_block(engine)
    return RenderResult(frames, info.sample_rate, channels, time.perf_counter() - started, peak, clipped)


def _read_blocks(reader: sf.SoundFile, source: Path, block_size: int):
    """The file's blocks; a decoding failure part-way (a truncated or corrupt file) is the
    input's fault, reported as such, not as a failure to write the output."""
    while True:
        try:
            block = reader.read(block_size, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            raise AudioError(f"{source}: cannot decode at {reader.tell() / reader.samplerate:.2f} s "
                             f"(truncated or corrupt?): {error}") from None
        if not len(block):
            return
        yield block


def resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy) so a file can play on a device that runs at another rate."""
    ratio = Fraction(new_rate, rate).limit_denominator(1000)
    return signal.resample_poly(audio, ratio.numerator, ratio.denominator, axis=0).astype(np.float32)


def play_file(
    engine: Engine,
    audio: np.ndarray,
    output_device: int | str | None,
    block_size: int,
    on_tick: Callable[[StreamStats], None],
    processed: np.ndarray | None = None,
    tick_s: float = 0.5,
) -> StreamStats:
    """Play audio through the engine to a device, paced by the device; stop at the end or Ctrl+C.

    ``processed`` (same shape as ``audio``), when given, receives the engine's output.
    """
    sd = _sounddevice()
    stats = StreamStats()
    config = engine.config
    total = audio.shape[0]
    blocks = math.ceil(total / block_size)
    padded = np.zeros((blocks * block_size, config.channels), dtype=np.float32)
    padded[:total] = audio
    position = [0]
    finished = threading.Event()
    clock = time.perf_counter

    def callback(outdata, frames, _time, status) -> None:
        started = clock()
        start = position[0]
        if start >= padded.shape[0]:
            outdata.fill(0.0)
            stats.ended_by_callback = True
            raise sd.CallbackStop
        try:
            engine.process(padded[start : start + frames], outdata)
        except Exception as error:
            stats.error = error
            stats.ended_by_callback = True
            outdata.fill(0.0)
            raise sd.CallbackAbort from None
        if processed is not None and start < total:
            end = min(start + frames, total)
            processed[start:end] = outdata[: end - start]
        position[0] = start + frames
        stats.record(status, clock() - started)

    try:
        stream = sd.OutputStream(
            device=output_device,
            samplerate=config.sample_rate,
            blocksize=block_size,
            channels=config.channels,
            dtype="float32",
            callback=callback,
            finished_callback=finished.set,
        )
    except (sd.PortAudioError, ValueError) as error:
        raise AudioError(f"cannot open the output stream: {error}") from None
    _supervise(stream, stats, block_size / config.sample_rate, finished.is_set, on_tick, tick_s)
    return stats
