"""Audio files (soundfile/libsndfile): what they hold, reading them whole or in blocks, and
writing them in the format their name asks for, atomically (see atomic.py).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from .overlap import ahead
from .atomic import AtomicOutput, AudioError

FILE_BLOCK = 4096  # frames per block offline: large blocks, few calls
# Integer sample formats narrower than float32's precision: quantized here, with TPDF dither.
DITHERED_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24}
# libsndfile's containers, by the extensions files carry (RAW has no header: not guessable)
EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
                        ".au", ".snd", ".caf", ".w64", ".rf64", ".wavex", ".voc", ".paf", ".svx", ".nist",
                        ".sph", ".ircam", ".sf", ".mat", ".pvf", ".xi", ".htk", ".sds", ".avr", ".sd2", ".mpc"})
# Extensions that name a container by another name (and .opus, a sample format too)
EXTENSION_ALIASES = {"OPUS": ("OGG", "OPUS"), "OGA": ("OGG", None), "AIF": ("AIFF", None), "WAVE": ("WAV", None)}


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str


def is_audio_name(path: Path) -> bool:
    """A name libsndfile may open as audio, by extension; hidden names are left out (a run's own
    temporaries and records start with a dot)."""
    return path.suffix.lower() in EXTENSIONS and not path.name.startswith(".")


def read_info(path: Path) -> AudioInfo:
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file (a pipe or a device); give an audio file")
    try:
        with _decoder_notes_silenced():
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({_opening_error(error)})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: holds no audio frames")
    return AudioInfo(info.samplerate, info.channels, info.frames, info.format, info.subtype)


def _opening_error(error: Exception) -> str:
    """libsndfile's reason, without its "Error opening 'path': " and without its guess of a
    pipe for any regular file whose contents it does not know."""
    reason = str(error).split(": ", 1)[-1] if str(error).startswith("Error opening") else str(error)
    if "possibly a pipe" in reason:
        return "its contents are no audio format libsndfile knows"
    return reason.rstrip(".")


@contextlib.contextmanager
def _decoder_notes_silenced() -> Iterator[None]:
    """libmpg123 prints notes ("Illegal Audio-MPEG-Header ...") straight to file descriptor 2
    while libsndfile probes a file; the user gets our one line instead."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """A whole file as float32 (frames, channels): what decodes of it (see ``read_blocks``)."""
    info = read_info(path)
    blocks = list(stream(path))
    return (np.concatenate(blocks) if blocks else np.zeros((0, info.channels), np.float32)), info.sample_rate


def container_of(path: Path) -> tuple[str, str | None]:
    """libsndfile's container for a file name's extension (and the sample format an extension
    such as .opus implies), or an error that lists the extensions it knows."""
    extension = Path(path).suffix.lstrip(".").upper()
    container, subtype = EXTENSION_ALIASES.get(extension, (extension, None))
    formats = sf.available_formats()
    if container not in formats:
        known = ", ".join(sorted({f".{e.lower()}" for e in formats} | {f".{e.lower()}" for e in EXTENSION_ALIASES}))
        raise AudioError(f"{path}: unknown output format {Path(path).suffix or '(no extension)'}; use one of {known}")
    return container, subtype


# Sample formats to try for an input's, nearest first: its precision, then more, then less.
_NEAREST = {
    8: ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"),
    16: ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"),
    24: ("PCM_24", "PCM_32", "FLOAT", "DOUBLE", "PCM_16"),
    32: ("PCM_32", "DOUBLE", "FLOAT", "PCM_24", "PCM_16"),
    "FLOAT": ("FLOAT", "DOUBLE", "PCM_32", "PCM_24", "PCM_16"),
    "DOUBLE": ("DOUBLE", "FLOAT", "PCM_32", "PCM_24", "PCM_16"),
}


def _nearest_subtypes(subtype: str) -> tuple[str, ...]:
    """The input's own sample format, then the lossless ones nearest to it. A lossy or
    companded source (mp3, Vorbis, u-law, ADPCM) decodes to more than 16 bits: 24-bit PCM."""
    family, _, width = subtype.rpartition("_")
    if subtype in _NEAREST:
        return _NEAREST[subtype]
    if family in ("PCM", "PCM_S", "PCM_U", "ALAC") or subtype in ("PCM_S8", "PCM_U8"):
        bits = int(width.lstrip("SU"))
        return (subtype, *_NEAREST[next(b for b in (8, 16, 24, 32) if b >= bits)])
    return (subtype, *_NEAREST[24])


@functools.lru_cache(maxsize=None)
def can_write(container: str, subtype: str, sample_rate: int = 48_000, channels: int = 1) -> bool:
    """Whether libsndfile really writes ``subtype`` into ``container`` at this rate and channel
    count: its own check_format says yes to pairs it then refuses (MPEG layer III in WAV), and
    the codecs have limits of their own (Opus's rates), so a few frames are written to memory."""
    if not sf.check_format(container, subtype):
        return False
    try:
        with sf.SoundFile(io.BytesIO(), "w", sample_rate, channels, subtype, format=container) as probe:
            probe.write(np.zeros((64, channels), np.float32))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return False
    return True


def output_format(path: Path, like: AudioInfo) -> tuple[str, str]:
    """Container from the extension; the input's sample format when that container holds it,
    else the nearest it holds (``format_note`` says which and why)."""
    container, subtype = container_of(path)
    if subtype is None:
        subtype = next((s for s in _nearest_subtypes(like.subtype) if can_write(container, s)),
                       sf.default_subtype(container))
    if subtype is None or not can_write(container, subtype):
        raise AudioError(f"{path}: cannot write {Path(path).suffix} files")
    if not can_write(container, subtype, like.sample_rate, like.channels):
        limits = CODEC_LIMITS.get(subtype, "")
        raise AudioError(f"{path}: {container} {subtype} cannot hold this input's {like.sample_rate} Hz, "
                         f"{like.channels}-channel audio{'; ' + limits if limits else ''}: choose another format")
    return container, subtype


# What the lossy codecs take, said in words (libsndfile says "Format not recognised").
CODEC_LIMITS = {"OPUS": "Opus takes 8, 12, 16, 24 or 48 kHz, up to 8 channels",
                "MPEG_LAYER_III": "MP3 takes 1 or 2 channels at 8-48 kHz"}


def format_note(container: str, subtype: str, like: AudioInfo) -> str:
    """The output's format in words, with the reason when a lossless one is not the input's
    (a lossy output's codec is what its extension asked for)."""
    made = f"{container} {subtype}"
    lossless = subtype.startswith("ALAC") or any(subtype in nearest for nearest in _NEAREST.values())
    if subtype == like.subtype or not lossless:
        return made
    return f"{made} (nearest to the input's {like.subtype}, which {container} cannot hold)"


def is_lossy(subtype: str) -> bool:
    """Whether a sample format is a lossy codec's, whose decoded peaks differ from what went in."""
    return subtype in ("VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III")


def is_integer_format(subtype: str) -> bool:
    """Whether samples beyond full scale must be clipped before writing."""
    return subtype.startswith("PCM") or subtype in ("ULAW", "ALAW", "DPCM_8", "DPCM_16")


def write_audio(path: Path, audio: np.ndarray, rate: int, like: AudioInfo) -> None:
    """Write a whole signal atomically, in the format ``output_format`` picks for ``path``,
    quantized as a render is (``Quantizer``: dithered, never wrapped)."""
    container, subtype = output_format(path, like)
    audio = Quantizer(subtype)(np.array(audio, np.float32))
    with AtomicOutput(path) as temporary:
        sf.write(str(temporary), audio, rate, subtype=subtype, format=container)


def read_blocks(reader: sf.SoundFile, source: Path, block_size: int) -> Iterator[np.ndarray]:
    """The file's blocks. A file that fails to decode part-way (truncated, or corrupt near its
    end) gives what decodes, then ends: the caller compares the frames it got with the
    header's (``AudioInfo.frames``) and says so. One that decodes nothing is refused."""
    decoded = 0
    while True:
        try:
            block = reader.read(block_size, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            if decoded:
                return
            raise AudioError(f"{source}: cannot decode (corrupt?): {error}") from None
        if not len(block):
            return
        decoded += len(block)
        yield block


def stream(path: Path, block_size: int = FILE_BLOCK) -> Iterator[np.ndarray]:
    """A file's blocks, decoded a few ahead in a thread (overlap.py), the file closed at the
    end or when the caller stops."""
    read_info(path)

    def decoded() -> Iterator[np.ndarray]:
        with sf.SoundFile(str(path)) as reader:
            yield from read_blocks(reader, path, block_size)

    return ahead(decoded, f"decoding {Path(path).name}")


class Quantizer:
    """Float blocks to what an output's sample format holds, never wrapping around.

    Integer formats narrower than float32's 24-bit precision are quantized here, with TPDF
    dither (two uniform variables of one step each, seeded, so a render is repeatable) unless
    ``dither`` is off or the block is digital silence; other integer formats are clipped to
    full scale; float formats pass."""

    def __init__(self, subtype: str, dither: bool = True) -> None:
        self.bits = DITHERED_BITS.get(subtype)
        self.clip = is_integer_format(subtype)
        self.dither = dither
        self._random = np.random.default_rng(0)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.bits is None:
            return np.clip(block, -1.0, 1.0, out=block) if self.clip else block
        scale = float(1 << (self.bits - 1))
        steps = block.astype(np.float64) * scale
        if self.dither and block.any():  # digital silence stays silent
            steps += self._random.random(block.shape) - self._random.random(block.shape)
        np.rint(steps, out=steps)
        np.clip(steps, -scale, scale - 1.0, out=steps)
        # libsndfile takes int32 as full scale and keeps the top bits: exact for these steps
        return steps.astype(np.int32) << (32 - self.bits)


def resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy) so a file can play on a device that runs at another rate."""
    from scipy import signal  # slow to import; most runs never resample

    ratio = Fraction(new_rate, rate).limit_denominator(1000)
    return signal.resample_poly(audio, ratio.numerator, ratio.denominator, axis=0).astype(np.float32)
