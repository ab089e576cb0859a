"""Third-party plugins (VST3, or Audio Units on macOS) around the EQ, hosted by pedalboard.

A plugin is given as ``PATH[:name=value,...]``. Many plugins are mono-only (Debian's
zam-plugins are, mostly); a stream with more channels then gets one instance per channel,
each with the same settings, so a mono compressor works on a stereo stream as a
dual-mono one. Plugins are loaded, configured and warmed up before streaming starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pedalboard

from ..errors import InteleqError

_LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6") if sys.platform != "win32" else None


@contextlib.contextmanager
def _floating_point_environment_kept() -> Iterator[None]:
    """Some plugins switch on flush-to-zero in the thread that loads them and leave it on
    (Debian's zam-plugins, built with DPF): the rest of an offline render then computed
    subnormals as zero, unlike live, whose audio thread never loads one. The C library's
    fegetenv/fesetenv (fenv.h) keep the thread's floating-point environment as it was."""
    if _LIBM is None:
        yield
        return
    environment = ctypes.create_string_buffer(256)  # larger than any platform's fenv_t
    _LIBM.fegetenv(environment)
    try:
        yield
    finally:
        _LIBM.fesetenv(environment)


class PluginError(InteleqError, ValueError):
    """A plugin that cannot be loaded or configured, worded for the user (names the plugin)."""


@dataclass(frozen=True)
class PluginSpec:
    path: Path
    parameters: dict[str, str] = field(default_factory=dict)


def parse_plugin_spec(text: str) -> PluginSpec:
    """``PATH[:name=value,...]``; a colon is part of the path unless settings follow it, or
    what precedes it is an existing plugin."""
    path, _, settings = text.rpartition(":")
    if not path or ("=" not in settings and not Path(path).exists()):
        return PluginSpec(Path(text))
    parameters = {}
    for item in settings.split(","):
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise PluginError(f"--plugin {text}: settings are name=value pairs separated by commas, not {item!r}")
        parameters[name.strip()] = value.strip()
    return PluginSpec(Path(path), parameters)


def load_plugin(spec: PluginSpec) -> pedalboard.Plugin:
    """One configured instance; unknown parameters and bad values name the plugin and key."""
    if not spec.path.exists():
        raise PluginError(f"{spec.path}: no such plugin")
    try:
        with _floating_point_environment_kept():
            plugin = pedalboard.load_plugin(str(spec.path))
    except (ImportError, ValueError, RuntimeError) as error:
        reason = " ".join(line.strip() for line in str(error).splitlines())  # the cause is on a later line
        raise PluginError(f"{spec.path}: cannot load as a plugin: {reason}") from None
    for name, value in spec.parameters.items():
        if name not in plugin.parameters:
            raise PluginError(f"{spec.path}: no parameter {name!r}; it has: {', '.join(plugin.parameters)}")
        try:
            setattr(plugin, name, _parse_value(value))
        except (ValueError, TypeError) as error:
            raise PluginError(f"{spec.path}: {name}={value}: {str(error).splitlines()[0]}") from None
    return plugin


def _parse_value(value: str) -> float | bool | str:
    lowered = value.lower()
    if lowered in ("true", "on", "false", "off"):
        return lowered in ("true", "on")
    try:
        return float(value)
    except ValueError:
        return value


def describe_parameters(spec: PluginSpec) -> list[str]:
    """One line per parameter: name, current value and range, for `inteleq-rt plugins`."""
    plugin = load_plugin(spec)
    lines = []
    for name, parameter in plugin.parameters.items():
        detail = str(parameter).strip("<>").split(" ", 1)[-1]
        lines.append(f"{name:<28} {getattr(plugin, name)!s:<12} {detail}")
    return lines


class PluginInsert:
    """One plugin on a stream: a single instance if it takes the stream's channels, else one
    mono instance per channel. ``process`` may run on the audio thread (state carries).

    A plugin with latency (a look-ahead limiter) returns fewer frames than it was given while
    it primes, then full blocks: its output is queued here and delivered a block at a time,
    the missing frames first as silence, so the stream is delayed by exactly the plugin's
    latency (``latency`` frames, known once it primed) and every block keeps its length."""

    def __init__(self, spec: PluginSpec, channels: int, sample_rate: float, max_block: int) -> None:
        self.spec = spec
        self.sample_rate = float(sample_rate)
        self.latency = 0
        self._queue = np.zeros((2 * max_block, channels), np.float32)  # produced, not yet delivered
        self._queued = 0
        first = load_plugin(spec)
        if self._accepts(first, channels, max_block):
            self.instances = [first]
        elif channels > 1 and self._accepts(first, 1, max_block):
            self.instances = [first] + [load_plugin(spec) for _ in range(channels - 1)]
            for instance in self.instances[1:]:
                self._accepts(instance, 1, max_block)
        else:
            raise PluginError(f"{spec.path}: takes neither {channels} channel(s) nor one")

    def _accepts(self, plugin: pedalboard.Plugin, channels: int, max_block: int) -> bool:
        """Warm the plugin on a full-size block of silence; False if it refuses the channels."""
        try:
            plugin.process(np.zeros((max_block, channels), np.float32), self.sample_rate, reset=True)
        except ValueError:
            return False
        plugin.reset()
        return True

    def _run(self, block: np.ndarray) -> list[np.ndarray]:
        """The plugin's output for one block: one array, or one per mono instance."""
        if len(self.instances) == 1:
            return [self.instances[0].process(block, self.sample_rate, reset=False)]
        return [instance.process(block[:, channel : channel + 1], self.sample_rate, reset=False)
                for channel, instance in enumerate(self.instances)]

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Run one (frames, channels) float32 block into ``out`` (which may be ``block``)."""
        frames = block.shape[0]
        produced = self._run(block)
        count = min(part.shape[0] for part in produced)
        if count == frames and self._queued == 0:  # the usual case: no latency, or primed
            for channel, part in enumerate(produced):
                out[:, channel : channel + part.shape[1]] = part
            return
        start = self._queued
        for channel, part in enumerate(produced):
            self._queue[start : start + count, channel : channel + part.shape[1]] = part[:count]
        self._queued += count
        missing = max(0, frames - self._queued)  # still priming: what it has not given is silence
        self.latency += missing
        out[:missing] = 0.0
        delivered = frames - missing
        out[missing:] = self._queue[:delivered]
        self._queued -= delivered
        self._queue[: self._queued] = self._queue[delivered : delivered + self._queued]
