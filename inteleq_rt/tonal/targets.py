"""Each genre's tonal range: the spread of today's masters' balances, band by band.

A genre is not one curve: songs of one genre differ from their genre's mean by ~5 dB RMS
over the bands, while a mastering-sized EQ error is ~2 dB. So a target is the median and
the 10th-90th percentiles across songs per 1/3-octave band, with how many songs (and
artists) reached each band: a corpus band-limited at 11 kHz (GTZAN) says nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.presets import RANGES_FILE, read_toml
from ..errors import InteleqError
from .spectrum import BANDS, CENTRES_HZ

LOW_PERCENTILE, HIGH_PERCENTILE = 10.0, 90.0
MIN_SONGS_PER_BAND = 3  # fewer songs reached a band: no range there (the rule leaves it alone)
GENRE_SMOOTHING_OCTAVES = 1.0  # a genre's range is read this broadly: a correction never chases one band


@dataclass(frozen=True)
class GenreRange:
    """One genre's balances across songs (dB relative to each song's median band below
    10 kHz; NaN where fewer than MIN_SONGS_PER_BAND songs reached the band)."""

    genre: str
    median_db: np.ndarray
    low_db: np.ndarray  # LOW_PERCENTILE across songs
    high_db: np.ndarray  # HIGH_PERCENTILE
    songs_per_band: np.ndarray
    songs: int
    artists: int  # distinct known artists (GTZAN names none)
    corpus: str = ""
    # how broadly the rule reads it (rule.py): a genre's spread is coarse, one reference precise
    smoothing_octaves: float = GENRE_SMOOTHING_OCTAVES


@dataclass(frozen=True)
class RangeVerdict:
    """Range mode's judgment of a balance, per 1/3-octave band (CENTRES_HZ): the balance, the
    range it was held against (None: none) and the correction applied (the chain's response,
    ``--amount`` included). The report, ``analyze``'s picture and the live panel show it."""

    genre: str
    balance_db: np.ndarray
    genre_range: GenreRange | None
    correction_db: np.ndarray


def build_range(genre: str, balances: np.ndarray, artists: int, corpus: str = "",
                min_songs: int = MIN_SONGS_PER_BAND,
                smoothing_octaves: float = GENRE_SMOOTHING_OCTAVES) -> GenreRange:
    """The range of ``balances`` (songs x bands, NaN where a song did not reach a band);
    bands fewer than ``min_songs`` songs reached have none."""
    balances = np.atleast_2d(balances)
    counts = np.isfinite(balances).sum(axis=0)
    enough = counts >= min_songs
    stats = np.full((3, balances.shape[1]), np.nan)
    if enough.any():
        stats[:, enough] = np.nanpercentile(balances[:, enough], [50.0, LOW_PERCENTILE, HIGH_PERCENTILE], axis=0)
    return GenreRange(genre, stats[0], stats[1], stats[2], counts, len(balances), artists, corpus, smoothing_octaves)


def ranges_in(presets_folder: Path | None) -> dict[str, GenreRange]:
    """The ranges ``--mode range`` corrects by: the presets folder's ranges.toml."""
    from ..resources import presets_dir

    path = presets_dir(presets_folder) / RANGES_FILE
    if not path.is_file():
        raise InteleqError(f"{path}: no genre ranges for --mode range; write them with "
                           f"`inteleq-rt targets DATASET -o {path}`")
    return read_ranges(path)


def write_ranges(path: Path, ranges: dict[str, GenreRange], how: str) -> None:
    """The ranges as TOML (NaN written as "nan": no range there), with how they were made."""
    def numbers(values) -> str:
        return "[" + ", ".join("nan" if not np.isfinite(v) else f"{v:.2f}" for v in values) + "]"

    lines = [f"# {line}" for line in how.splitlines()]
    lines += ["", f"centres_hz = {numbers(CENTRES_HZ)}", f"percentiles = [{LOW_PERCENTILE:g}, {HIGH_PERCENTILE:g}]"]
    for genre, r in ranges.items():
        lines += ["", f"[{genre}]", f"songs = {r.songs}", f"artists = {r.artists}", f'corpus = "{r.corpus}"',
                  f"median_db = {numbers(r.median_db)}", f"low_db = {numbers(r.low_db)}",
                  f"high_db = {numbers(r.high_db)}",
                  "songs_per_band = [" + ", ".join(str(int(n)) for n in r.songs_per_band) + "]"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_ranges(path: Path) -> dict[str, GenreRange]:
    """Ranges written by ``write_ranges``; an error naming the file if they do not fit our bands."""
    data = read_toml(path)
    if len(data.get("centres_hz", ())) != len(BANDS):
        raise InteleqError(f"{path}: not genre ranges on the {len(BANDS)} tonal bands (31.5 Hz-16 kHz)")
    ranges = {}
    for genre, table in data.items():
        if isinstance(table, dict):
            values = {key: np.array(table[key], float) for key in ("median_db", "low_db", "high_db")}
            ranges[genre] = GenreRange(genre, values["median_db"], values["low_db"], values["high_db"],
                                       np.array(table["songs_per_band"]), int(table["songs"]),
                                       int(table["artists"]), str(table.get("corpus", "")))
    return ranges
