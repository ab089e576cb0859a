"""IntelEQ-RT: a real-time, genre-aware equalizer for music.

Data flows one way: source -> Engine (filterbank analysis, EQ, crossfade) -> sink, with the
genre decision posted to the engine from beside the audio path.
"""

__version__ = "0.1.0"
