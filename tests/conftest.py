"""Shared fixtures: synthesized signals, a spectrum helper, and a real JACK dummy server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from .synthetic import make_corpus

REPO = Path(__file__).resolve().parent.parent
JACK_RATE = 48_000


def sine(frequency: float, seconds: float, rate: int, channels: int = 2, amplitude: float = 0.25) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = amplitude * np.sin(2 * np.pi * frequency * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def worst_out_of_band_db(x: np.ndarray, rate: int, tone_hz: float, guard_hz: float = 150.0) -> float:
    """Highest level (dBFS; a full-scale sine reads 0) away from a tone in any 43 ms frame.

    Short frames keep a click's energy concentrated: one long FFT would spread it over every
    bin and hide it.
    """
    freqs, _, frames = signal.stft(x, rate, window="blackmanharris", nperseg=2048, noverlap=1536,
                                   boundary=None, padded=False)
    level = 20 * np.log10(2 * np.abs(frames) + 1e-30)  # stft divides by the window sum
    return float(level[np.abs(freqs - tone_hz) > guard_hz].max())


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed command exactly as a user would."""
    command = [sys.executable, "-m", "inteleq_rt", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


class JackServer:
    """A jackd with the dummy backend under a unique name; clients find it through the env."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
        self.process = subprocess.Popen(
            ["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", str(JACK_RATE), "-p", "256"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 10
        while "system:playback_1" not in self.ports():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.process.stdout.read() if self.process.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"jackd did not start: {output}")
            time.sleep(0.05)

    def ports(self) -> list[str]:
        result = subprocess.run(["jack_lsp"], env=self.env, capture_output=True, text=True)
        return result.stdout.split()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.stdout.close()

    def crash(self) -> None:
        """Kill the server with no chance to clean up, as a crash would."""
        self.process.kill()
        self.process.wait()

    def release_registry_slot(self) -> None:
        """A killed jackd keeps its entry in JACK's machine-wide registry of 8 servers, so a
        few crashes would stop every later server from starting. jackd reclaims a dead
        entry under its own name, and a clean stop then frees it."""
        JackServer(self.name).stop()


@pytest.fixture(scope="session")
def jack_server():
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: run the tests through tests/run.sh, which installs it")
    server = JackServer(f"inteleq-test-{os.getpid()}")
    os.environ["JACK_DEFAULT_SERVER"] = server.name  # for JACK-Client in this process
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Train once through the real command; later tests use the weights and its output."""
    root = tmp_path_factory.mktemp("corpus")
    corpus = make_corpus(root / "genres")
    weights = root / "weights"
    result = run_cli("train", str(corpus), "-o", str(weights), "--folds", "3",
                     "--cache-dir", str(root / "cache"), timeout=600)
    assert result.returncode == 0, result.stderr
    return corpus, weights, result.stdout
