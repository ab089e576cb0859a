"""Shared fixtures: synthesized signals, a spectrum helper, and a real JACK dummy server."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def machine_share(request, worker_id, tmp_path_factory):
    """Under pytest-xdist, a test on a JACK server or a stress test has the machine to itself:
    paced audio beside another worker's renders met xruns for 30 s on 2 cores, and a stress
    test's start-up interrupted beside another's took 3.9 s to stop. A readers-writer lock
    over the run's workers: other tests share the machine; a test alone first closes a
    turnstile (no new test starts), then waits for the running ones to end."""
    if worker_id == "master":
        yield
        return
    alone = "jack_server" in request.fixturenames or request.node.get_closest_marker("stress") is not None
    with _machine(tmp_path_factory, alone):
        yield


@contextlib.contextmanager
def _machine(tmp_path_factory, alone: bool) -> Iterator[None]:
    folder = tmp_path_factory.getbasetemp().parent  # the run's, above each worker's own
    with open(folder / "turnstile.lock", "a") as turnstile, open(folder / "machine.lock", "a") as machine:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(machine, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield  # closing the files releases both locks


@pytest.fixture(scope="session")
def jack_server():
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: run the tests through tests/run.sh, which installs it")
    server = JackServer(f"inteleq-test-{os.getpid()}", rate=JACK_RATE)
    server.use()  # for JACK-Client in this process
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trained(tmp_path_factory, worker_id):
    """Train once through the real command, by name into a user data folder (``user_data_env``
    finds it there as ``--weights synthetic``); later tests read the weights and its output.

    Under pytest-xdist the first worker to ask trains into the run's shared temporary folder,
    under a lock, and the others read what it wrote (a training is ~20 s of CPU)."""
    if worker_id == "master":  # not under xdist
        return _train(tmp_path_factory.mktemp("corpus"))
    root = tmp_path_factory.getbasetemp().parent / "trained"
    root.mkdir(exist_ok=True)
    with open(root / "lock", "w") as lock, _machine(tmp_path_factory, alone=False):
        fcntl.flock(lock, fcntl.LOCK_EX)
        output = root / "train-output.txt"
        if not output.exists():
            output.write_text(_train(root)[2])
    return root / "genres", _trained_weights(root), output.read_text()


def _train(root: Path) -> tuple[Path, Path, str]:
    corpus = make_corpus(root / "genres")
    result = run_cli("train", str(corpus), "--model", "filterbank", "--name", "synthetic", "--folds", "3",
                     "--cache-dir", str(root / "cache"), env=user_data_env(root), timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"wrote {_trained_weights(root)}/" in result.stdout
    return corpus, _trained_weights(root), result.stdout


def _trained_weights(root: Path) -> Path:
    return root / "data" / "inteleq-rt" / "weights" / "synthetic"


def user_data_env(root: Path) -> dict:
    """An environment whose user data folder (XDG_DATA_HOME) is ``root/data``."""
    return {**os.environ, "XDG_DATA_HOME": str(root / "data")}
