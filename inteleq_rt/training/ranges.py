"""Genre ranges built from folders of songs (``inteleq-rt targets``): each genre's balances
across its songs, with how many songs and artists went in (tonal/targets.py holds what a run
reads: ``GenreRange``, ranges.toml).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..tonal.spectrum import file_balance
from ..tonal.targets import GenreRange, build_range
from .dataset import GTZAN_MAPPING, discover


def labelled_files(folder: Path) -> list[tuple[str, Path, str]]:
    """(genre, file, artist) for a folder of genre folders, found as `train` finds a corpus
    (GTZAN's genre names mapped to ours, any other folder a genre of its own name); artists
    from a MANIFEST.tsv with `file` and `artist_title` ("Artist - Title") columns, else ""."""
    artists = {}
    manifest = folder / "MANIFEST.tsv"
    if manifest.exists():
        with manifest.open(newline="") as table:
            for row in csv.DictReader(table, delimiter="\t"):
                if row.get("file") and row.get("artist_title"):
                    artists[row["file"]] = row["artist_title"].split(" - ")[0].split(" feat")[0].strip().lower()
    genres = {p.name: GTZAN_MAPPING.get(p.name, p.name) for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {}
    clips, _ = discover(folder, genres)
    return [(clip.label, clip.path, artists.get(f"{clip.folder}/{clip.path.name}", "")) for clip in clips]


def ranges_from_folders(folders: list[Path]) -> dict[str, GenreRange]:
    """Every genre's range from folders of genre folders (GTZAN's names mapped to ours)."""
    by_genre: dict[str, list[tuple[np.ndarray, str]]] = {}
    for folder in folders:
        for genre, path, artist in labelled_files(folder):
            by_genre.setdefault(genre, []).append((file_balance(path), artist))
    corpus = " + ".join(Path(f).name for f in folders)
    return {genre: build_range(genre, np.array([b for b, _ in songs]), len({a for _, a in songs} - {""}), corpus)
            for genre, songs in sorted(by_genre.items())}
