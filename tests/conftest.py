"""Shared fixtures: synthesized signals, a spectrum helper, and a real JACK dummy server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from inteleq_rt.bench.jack import JackServer

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


@pytest.fixture(scope="session")
def jack_server():
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: run the tests through tests/run.sh, which installs it")
    server = JackServer(f"inteleq-test-{os.getpid()}", rate=JACK_RATE)
    server.use()  # for JACK-Client in this process
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Train once through the real command, by name into a user data folder (``user_data_env``
    finds it there as ``--weights synthetic``); later tests use the weights and its output."""
    root = tmp_path_factory.mktemp("corpus")
    corpus = make_corpus(root / "genres")
    env = user_data_env(root)
    result = run_cli("train", str(corpus), "--model", "filterbank", "--name", "synthetic", "--folds", "3",
                     "--cache-dir", str(root / "cache"), env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    weights = root / "data" / "inteleq-rt" / "weights" / "synthetic"
    assert f"wrote {weights}/" in result.stdout
    return corpus, weights, result.stdout


def user_data_env(root: Path) -> dict:
    """An environment whose user data folder (XDG_DATA_HOME) is ``root/data``."""
    return {**os.environ, "XDG_DATA_HOME": str(root / "data")}
