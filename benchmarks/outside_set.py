"""Recordings from outside the genre corpus, made here: speech (espeak-ng), noises, tones.

    python benchmarks/outside_set.py DIR            # DIR/train/ and DIR/check/

Two disjoint parts. ``train`` is what `inteleq-rt train --non-music DIR/train` teaches the
music detector with; ``check`` holds other voices, other texts and other kinds of sound
(wind, rain, footsteps, birdsong-like chirps, DTMF, a hum), which only the outside check
(outside_check.py) ever hears. Needs espeak-ng (`apt-get install espeak-ng`) for speech.
"""

import argparse
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

RATE = 22_050
SECONDS = 12.0
TEXTS = {
    "train": ["The quick brown fox jumps over the lazy dog, and then it runs back into the forest.",
              "Good morning. Here are the news of the day: markets were calm and the weather stays mild.",
              "Please hold the line. Your call is important to us and will be answered in turn."],
    "check": ["It was a bright cold day in April, and the clocks were striking thirteen.",
              "Turn left at the second light, then follow the river until you reach the old bridge.",
              "Thank you all for coming tonight. Let me begin with a short story about my grandmother."],
}
VOICES = {"train": ["en", "de", "es", "en+f3", "de+m3"], "check": ["fr", "en-us", "it", "pt", "en+f4"]}


def speech(folder: Path, part: str) -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed for speech: apt-get install espeak-ng")
    for voice in VOICES[part]:
        for number, text in enumerate(TEXTS[part]):
            path = folder / f"speech_{voice.replace('+', '-')}_{number}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(140 + 15 * number), "-w", str(path), text * 2],
                           check=True)


def noises(part: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE
    white = rng.standard_normal(n)

    def band(low, high, x=white):
        return signal.sosfilt(signal.butter(2, (low, high), "bandpass", fs=RATE, output="sos"), x)

    if part == "train":
        pink = signal.lfilter([0.0499, -0.0960, 0.0506, -0.0044], [1, -2.4950, 2.0173, -0.5222], white)
        crackle = np.zeros(n)
        crackle[rng.integers(0, n, 3000)] = rng.standard_normal(3000)
        return {"white": white * 0.1, "pink": pink * 0.5, "brown": np.cumsum(white) / np.sqrt(n) * 0.3,
                "crackle": band(1500, 8000, crackle), "tone_220": 0.3 * np.sin(2 * np.pi * 220 * t),
                "sweep": 0.3 * signal.chirp(t, 40, SECONDS, 9000, method="logarithmic"),
                "traffic": band(60, 900) * (1 + 0.7 * np.sin(2 * np.pi * 0.1 * t))}
    drops = np.zeros(n)
    drops[rng.integers(0, n, 9000)] = rng.standard_normal(9000)
    steps = np.zeros(n)
    steps[(np.arange(0, SECONDS, 0.55) * RATE).astype(int)] = 1.0
    chirps = np.zeros(n)
    for start in rng.uniform(0, SECONDS - 0.3, 25):
        k = int(start * RATE)
        m = np.arange(int(0.15 * RATE)) / RATE
        chirps[k : k + len(m)] += np.sin(2 * np.pi * (3000 * m + 9000 * m * m)) * np.hanning(len(m))
    keys = [(697, 1209), (770, 1336), (852, 1477), (941, 1633)]
    dtmf = np.concatenate([np.r_[0.2 * (np.sin(2 * np.pi * a * t[: RATE // 5]) + np.sin(2 * np.pi * b * t[: RATE // 5])),
                                 np.zeros(RATE // 10)] for a, b in keys * 20])[:n]
    return {"wind": band(80, 500) * (1 + 0.9 * np.sin(2 * np.pi * 0.15 * t)) * 0.5,
            "rain": band(2000, 9000, drops) + 0.02 * white,
            "footsteps": signal.sosfilt(signal.butter(2, 150, fs=RATE, output="sos"), steps) * 20,
            "birds": chirps * 0.3 + 0.005 * white, "dtmf": dtmf,
            "hum": 0.2 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t) + 0.01 * white}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    for seed, part in enumerate(("train", "check")):
        folder = args.folder / part
        folder.mkdir(parents=True, exist_ok=True)
        speech(folder, part)
        for name, x in noises(part, np.random.default_rng(seed)).items():
            x = x / max(np.abs(x).max(), 1e-9) * 0.5
            sf.write(str(folder / f"{name}.wav"), x.astype(np.float32), RATE)
        print(f"wrote {folder}/ ({len(list(folder.glob('*.wav')))} recordings)")


if __name__ == "__main__":
    main()
