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


def lazy_attributes(package: str, api: dict[str, str]):
    """A package's ``__getattr__``: each name of ``api`` is taken from its module (``api[name]``,
    relative to ``package``) when first asked for, so importing the package stays light."""
    def __getattr__(name: str):
        if name in api:
            return getattr(importlib.import_module(f".{api[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


__getattr__ = lazy_attributes(__name__, _API)
