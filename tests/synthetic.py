"""A small labelled corpus the tests generate: one clearly different spectral balance per class."""

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

# GTZAN folder names (default mapping) -> centre of the octave band that dominates the class
CENTRES_HZ = {"rock": 1500.0, "classical": 600.0, "country": 200.0, "hiphop": 60.0, "jazz": 3500.0,
              "disco": 6000.0}


def synthetic_clip(folder: str, seconds: float, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = CENTRES_HZ[folder] * rng.uniform(0.85, 1.15)
    band = signal.butter(2, (centre / 1.41, min(centre * 1.41, 0.45 * rate)), "bandpass", fs=rate, output="sos")
    frames = int(seconds * rate)
    tone = signal.sosfilt(band, rng.standard_normal(frames))
    beat = 1.0 + 0.5 * np.sin(2 * np.pi * rng.uniform(1.5, 2.5) * np.arange(frames) / rate)
    mix = tone * beat / np.std(tone) * 0.1 + rng.standard_normal(frames) * 0.004
    return np.stack([mix, mix * 0.9], axis=1).astype(np.float32)


def make_corpus(root: Path, clips_per_class: int = 6, seconds: float = 6.0, rate: int = 16000) -> Path:
    for number, folder in enumerate(CENTRES_HZ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(clips_per_class):
            seed = 1000 * number + i  # not hash(): Python salts it per process
            sf.write(str(root / folder / f"{folder}.{i:05d}.wav"),
                     synthetic_clip(folder, seconds, rate, seed), rate, subtype="PCM_16")
    return root
