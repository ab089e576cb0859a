"""The tagger's input: 16 kHz mono -> 96-band log-mel frames, streamed.

musicnn was trained on librosa's mel spectrogram (n_fft 512, hop 256, Hann window, power
2, Slaney mel scale and normalization, 0-8 kHz), compressed as log10(1 + 10000 x). This
is the same computation in numpy, in float32 throughout (musicnn's own code casts to
float16 before the log, and loud music overflows to inf).

The compression is not level-invariant: the same song heard 20 dB quieter gave the tagger
other tags (jazz at 0 and -20 dB, classical at -40 dB). So each 3 s patch is brought to one
level (``PATCH_LEVEL_DB``, its frames' mean power) before the log: ``patch_log_mel``, the
only way a patch is made, live and in training alike.

``MelStream`` takes audio at any rate and channel count in blocks of any size: the mono
downmix goes through a streaming resampler (soxr) to 16 kHz, and a frame is emitted as soon
as its 512-sample window is complete, so a live stream and a whole file (split any way)
give the same frames. Like librosa's ``center=True``, the first frame is centred on the
first sample (256 zeros before it).
"""

from __future__ import annotations

import numpy as np

from ...downmix import mono

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # the tagger's input: 187 frames = 3 s
PATCH_LEVEL_DB = -14.0  # every patch's mean frame power, as a released master's is (dBFS, a sine at -3)
MAX_PATCH_GAIN_DB = 50.0  # quieter patches are raised this far at most (the gate is at -60 dBFS)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_filters(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, Slaney-normalized (area-equalized)."""
    fft_hz = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def log_compress(mel_power: np.ndarray) -> np.ndarray:
    return np.log10(1.0 + 10000.0 * mel_power, dtype=np.float32)


def patch_log_mel(mel_power: np.ndarray, levels_db: np.ndarray) -> np.ndarray:
    """A patch's log-mel frames at ``PATCH_LEVEL_DB``: ``mel_power`` (frames, 96) scaled by
    the gain that brings its frames' mean power (``levels_db``, per frame) there."""
    level = 10.0 * np.log10(np.mean(10.0 ** (np.asarray(levels_db, np.float64) / 10.0)) + 1e-12)
    gain_db = min(PATCH_LEVEL_DB - level, MAX_PATCH_GAIN_DB)
    return log_compress(mel_power * np.float32(10.0 ** (gain_db / 10.0)))


class MelStream:
    """Mel power frames of a stream of any rate and channel count (see the module docstring)."""

    def __init__(self, sample_rate: float, channels: int) -> None:
        import soxr

        self.channels = channels
        self.resampler = (None if int(sample_rate) == SAMPLE_RATE
                          else soxr.ResampleStream(float(sample_rate), SAMPLE_RATE, 1, dtype="float32"))
        self.window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as librosa
        self.filters = mel_filters()
        self.pending = np.zeros(N_FFT // 2, dtype=np.float32)  # the centring pad, then unframed audio
        self.frames = 0
        self.levels_db = np.zeros(0)  # per frame of the last push: windowed RMS in dBFS

    def push(self, audio: np.ndarray, last: bool = False) -> np.ndarray:
        """Mel power frames (n, 96) completed by this audio (frames, channels) float32, their
        levels in ``levels_db``; with ``last``, the stream ends here and is padded like
        librosa's final frames."""
        heard = mono(audio, np.float32)
        if self.resampler is not None:
            heard = self.resampler.resample_chunk(heard, last=last)
        if last:
            heard = np.concatenate([heard, np.zeros(N_FFT // 2, np.float32)])
        buffer = np.concatenate([self.pending, heard])
        count = max(0, (len(buffer) - N_FFT) // HOP + 1)
        if count == 0:
            self.pending = buffer
            self.levels_db = np.zeros(0)
            return np.zeros((0, N_MELS), np.float32)
        starts = np.arange(count) * HOP
        windows = buffer[starts[:, None] + np.arange(N_FFT)] * self.window
        # Hann's mean square is 3/8: dividing by it reads a full-scale sine at -3 dBFS
        self.levels_db = 10.0 * np.log10(np.mean(windows.astype(np.float64) ** 2, axis=1) / 0.375 + 1e-12)
        power = np.abs(np.fft.rfft(windows, axis=1)).astype(np.float32) ** 2
        self.pending = buffer[count * HOP :]
        self.frames += count
        return power @ self.filters.T


def mel_power(audio: np.ndarray, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """A whole signal's mel power frames and their levels (dBFS): one ``MelStream`` pushed
    once, to its end."""
    audio = audio if audio.ndim == 2 else audio[:, None]
    stream = MelStream(sample_rate, audio.shape[1])
    return stream.push(audio, last=True), stream.levels_db
