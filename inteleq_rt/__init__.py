"""IntelEQ-RT: a real-time, genre-aware equalizer for music.

Data flows one way: source (io) -> engine (analysis, EQ, plugins) -> sink (io), with the
genre classifier (genre) beside the audio path posting decisions to the engine. The library
API, loaded on first use so that ``import inteleq_rt`` stays light::

    from inteleq_rt import Options, process_file, monitor
    process_file("song.wav", "song-eq.flac", Options(genre="jazz"))
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {"Options": "options", "InteleqError": "errors", "Session": "session", "process_file": "offline",
        "analyze_file": "offline", "classify_file": "genre.whole_file", "monitor": "live", "play": "live"}
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
