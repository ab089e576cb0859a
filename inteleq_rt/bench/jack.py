"""A JACK server with the dummy backend (no sound card needed), for live benchmarks and tests.

Each server runs under its own name; clients find it through ``JACK_DEFAULT_SERVER`` in
``env`` (or in this process's environment, after ``use``). Needs jackd2.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from pathlib import Path


class JackServer:
    """``jackd -d dummy`` under ``name``, started and waited for; ``stop`` ends it cleanly."""

    def __init__(self, name: str, rate: int = 48_000, period: int = 256, realtime: bool = False) -> None:
        self.name = name
        self.env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
        command = ["jackd", "-R" if realtime else "--no-realtime", "-n", name, "-d", "dummy", "-r", str(rate),
                   "-p", str(period)]
        self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        deadline = time.monotonic() + 10
        while "system:playback_1" not in self.ports():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.process.stdout.read() if self.process.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"jackd did not start ({' '.join(command)}): {output}")
            time.sleep(0.05)

    def use(self) -> None:
        """Make clients started from this process (PortAudio, JACK-Client) find this server."""
        os.environ.update(JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1")

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
        entry under its own name, and a clean stop then frees it. The semaphores its clients
        left in /dev/shm (a client cannot close against a dead server) go too."""
        JackServer(self.name).stop()
        for leftover in Path("/dev/shm").glob(f"jack_sem.*_{glob.escape(self.name)}_*"):
            leftover.unlink(missing_ok=True)
