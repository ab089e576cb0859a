"""Recordings from outside the genre corpus, made here: speech (espeak-ng), a crowd, noises,
tones, animal calls, phones ringing and single sustained instrument notes.

    python benchmarks/outside_set.py DIR            # DIR/train/ and DIR/check/

Two disjoint parts. ``train`` is what `inteleq-rt train --non-music DIR/train` teaches the
music detector with; ``check`` holds other voices, other texts and other sounds of each kind
(wind, rain, footsteps, birdsong, another dog, a rooster, another phone, other instruments),
which only the outside check (outside_check.py) ever hears. Needs espeak-ng
(`apt-get install espeak-ng`) for speech.
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


def crowd(folder: Path, part: str, rng: np.random.Generator) -> None:
    """Many voices at once, each its own text, rate and start, over a murmur of noise."""
    voices = VOICES[part] * 2
    n = int(SECONDS * RATE)
    mix = 0.02 * signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))
    for number, voice in enumerate(voices):
        path = folder / f".crowd_{number}.wav"
        text = TEXTS[part][number % len(TEXTS[part])]
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(rng.uniform(130, 190))), "-p",
                        str(int(rng.uniform(20, 80))), "-w", str(path), text * 3], check=True)
        voice_audio, rate = sf.read(str(path), dtype="float64")
        path.unlink()
        voice_audio = signal.resample_poly(voice_audio, RATE, rate)[: n]
        start = int(rng.uniform(0, 2) * RATE)
        part_length = min(n - start, len(voice_audio))
        mix[start : start + part_length] += rng.uniform(0.3, 1.0) * voice_audio[:part_length]
    sf.write(str(folder / "crowd.wav"), (mix / np.abs(mix).max() * 0.5).astype(np.float32), RATE)


def _tone(seconds: float, f0: np.ndarray | float, harmonics: list[float]) -> np.ndarray:
    """A harmonic tone along the pitch track ``f0`` (Hz per sample, or fixed)."""
    n = int(seconds * RATE)
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(f0, (n,))) / RATE
    return sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics))


def _bursts(n: int, starts_s, make) -> np.ndarray:
    out = np.zeros(n)
    for start in starts_s:
        k = int(start * RATE)
        burst = make()
        out[k : k + len(burst)] += burst[: max(0, n - k)]
    return out


def calls(part: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Animals, phones and single instrument notes: pitched, rhythmic, and still not music."""
    n = int(SECONDS * RATE)
    t = np.arange(n) / RATE

    def bark(f0: float, length: float, formant: tuple[float, float]) -> np.ndarray:
        m = int(length * RATE)
        pitch = f0 * (1.3 - 0.5 * np.linspace(0, 1, m))
        body = _tone(length, pitch, [1, 0.8, 0.6, 0.4, 0.3]) + 0.6 * rng.standard_normal(m)
        body = signal.sosfilt(signal.butter(2, formant, "bandpass", fs=RATE, output="sos"), body)
        return body * np.exp(-np.linspace(0, 6, m)) * np.minimum(1, np.linspace(0, 30, m))

    def crow(f0: float) -> np.ndarray:  # four syllables up and down, hoarse
        contour = np.concatenate([np.full(int(s * RATE), f) for s, f in
                                  ((0.25, f0), (0.2, 1.4 * f0), (0.5, 1.6 * f0), (0.6, 1.2 * f0))])
        seconds = len(contour) / RATE
        call = _tone(seconds, contour, [1, 0.7, 0.5, 0.35, 0.2]) * (1 + 0.3 * rng.standard_normal(len(contour)))
        return call * np.hanning(len(contour)) ** 0.3

    def trill(low: float, high: float, rate_hz: float, length: float) -> np.ndarray:
        m = int(length * RATE)
        pitch = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * rate_hz * np.arange(m) / RATE))
        return _tone(length, pitch, [1, 0.2]) * np.hanning(m)

    def rings(pairs: tuple[float, float], pattern: list[tuple[float, float]]) -> np.ndarray:
        gate = np.zeros(n)
        at, i = 0.0, 0
        while at < SECONDS:
            on, off = pattern[i % len(pattern)]
            gate[int(at * RATE) : int(min(at + on, SECONDS) * RATE)] = 1.0
            at, i = at + on + off, i + 1
        return 0.3 * (np.sin(2 * np.pi * pairs[0] * t) + np.sin(2 * np.pi * pairs[1] * t)) * gate

    def note(f0: float, harmonics: list[float], vibrato: float, decay: float = 0.0) -> np.ndarray:
        pitch = f0 * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))
        envelope = np.exp(-decay * t) * np.minimum(1, t / 0.15) * np.minimum(1, (SECONDS - t) / 0.5)
        return _tone(SECONDS, pitch, harmonics) * envelope + 0.003 * rng.standard_normal(n)

    if part == "train":
        return {
            "dog_barking": _bursts(n, np.cumsum(rng.uniform(0.3, 1.4, 14)), lambda: bark(550, 0.18, (400, 2500))),
            "rooster": _bursts(n, [0.5, 4.5, 8.5], lambda: crow(480)),
            "birdsong": _bursts(n, np.cumsum(rng.uniform(0.2, 0.9, 20)),
                                lambda: trill(3000, 5500, 30, rng.uniform(0.2, 0.6))) + 0.003 * rng.standard_normal(n),
            "phone_ringing": rings((400, 450), [(0.4, 0.2), (0.4, 2.0)]),
            "note_violin_a4": note(440, [1, 0.6, 0.45, 0.35, 0.25, 0.2, 0.15, 0.1], 0.006),
            "note_piano_c4": note(261.6, [1, 0.5, 0.3, 0.2, 0.1], 0.0, decay=0.4),
            "note_flute_g5": note(784, [1, 0.15, 0.05], 0.004) + 0.01 * rng.standard_normal(n),
        }
    return {
        "dog_barking_small": _bursts(n, np.cumsum(rng.uniform(0.2, 0.9, 20)), lambda: bark(900, 0.12, (700, 3500))),
        "rooster_far": _bursts(n, [1.0, 6.0], lambda: 0.6 * crow(560)) + 0.01 * rng.standard_normal(n),
        "birdsong_chirps": _bursts(n, np.cumsum(rng.uniform(0.1, 0.5, 40)),
                                   lambda: trill(2200, 4200, 12, rng.uniform(0.08, 0.25))),
        "phone_ringing_us": rings((440, 480), [(2.0, 4.0)]),
        "phone_trill": rings((1200, 1600), [(0.05, 0.0)] * 20 + [(0.05, 2.0)]),
        "note_cello_c3": note(130.8, [1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15], 0.005),
        "note_clarinet_d4": note(293.7, [1, 0.05, 0.6, 0.05, 0.4, 0.05, 0.2], 0.002),
        "note_bell_e5": note(659, [1, 0.0, 0.6, 0.0, 0.0, 0.4], 0.0, decay=0.6),
    }


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
        rng = np.random.default_rng(seed)
        crowd(folder, part, rng)
        for name, x in (noises(part, rng) | calls(part, rng)).items():
            x = x / max(np.abs(x).max(), 1e-9) * 0.5
            sf.write(str(folder / f"{name}.wav"), x.astype(np.float32), RATE)
        print(f"wrote {folder}/ ({len(list(folder.glob('*.wav')))} recordings)")


if __name__ == "__main__":
    main()
