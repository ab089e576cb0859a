"""Labelled corpora: find clips, and turn each into model features (cached, in parallel).

``discover`` finds labelled clips in a folder of genre folders, with the group each belongs
to for cross-validation (songs of one artist or one source on one side of every split, read
from the corpus's MANIFEST.tsv where it names them); ``extract_corpus`` runs the
streaming feature code (the same the classifier runs live) over each whole clip, on the
library's workers (local processes or a Dask cluster), caching each clip's result under a
key of its path, size, time and feature spec.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.config import PAPER_BANDS
from ..engine.levels import LongTermBalance
from ..errors import InteleqError
from ..pool import Workers, map_in_order
from ..genre.filterbank.features import FeatureSpec, extract_features

GTZAN_MAPPING = {
    "rock": "rock_pop", "pop": "rock_pop", "blues": "rock_pop", "reggae": "rock_pop", "metal": "rock_pop",
    "classical": "classical", "country": "country", "hiphop": "hiphop", "jazz": "jazz", "disco": "disco",
}
# without a mapping file, GTZAN's folders and folders named as a class (electronic/, rock_pop/...)
DEFAULT_MAPPING = GTZAN_MAPPING | {name: name for name in (*GTZAN_MAPPING.values(), "electronic")}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".mp3", ".opus", ".w64", ".caf"}
CACHE_VERSION = 3  # bump when feature semantics change without the spec changing


class DatasetError(InteleqError, ValueError):
    """A corpus that cannot be trained on, worded for the user."""


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    folder: str
    group: str = ""  # clips of one group (an artist, a source) stay on one side of a split
    corpus: str = ""  # the name of the folder it was found in


@dataclass
class ClipFeatures:
    clip: Clip
    features: np.ndarray  # (examples, size)
    balance_db: np.ndarray  # long-term band levels re overall, on the target bands
    sample_rate: int

    @property
    def examples(self) -> int:
        return len(self.features)


def discover(root: Path, mapping: dict[str, str] | None = None) -> tuple[list[Clip], list[str]]:
    """Labelled clips under ``root/<folder>/``, and the folders the mapping does not cover."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder of genre folders")
    given = mapping is not None
    mapping = mapping or DEFAULT_MAPPING
    groups = manifest_groups(root)
    clips, unmapped = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in mapping:
            unmapped.append(folder.name)
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in AUDIO_SUFFIXES:
                name = f"{folder.name}/{path.name}"
                clips.append(Clip(path, mapping[folder.name], folder.name, f"{root.name}:{groups.get(name, name)}",
                                  root.name))
    if not clips:
        raise DatasetError(f"{root}: no audio files in folders named {', '.join(sorted(mapping))}")
    missing = sorted(set(mapping.values()) - {c.label for c in clips})
    if given and missing:
        raise DatasetError(f"{root}: no clips for class(es) {', '.join(missing)}")
    return clips, unmapped


def manifest_groups(root: Path) -> dict[str, str]:
    """``folder/file`` -> its group, from ``root/MANIFEST.tsv`` where it has the columns file,
    artist_title ("Artist - Title") and source_repo: songs that share an artist or a source
    repository (one uploader's picks, often one mastering chain) join one group. Without
    them, every clip is its own group (GTZAN's manifest names no artists)."""
    try:
        with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    if not rows or not {"file", "artist_title", "source_repo"} <= set(rows[0]):
        return {}
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for row in rows:
        artist = row["artist_title"].split(" - ")[0].strip().lower()
        keys = [f"file {row['file']}", f"repo {row['source_repo']}"]
        keys += [f"artist {artist}"] if artist and artist != "unknown artist" else []
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    return {row["file"]: find(f"file {row['file']}").split(" ", 1)[1] for row in rows}


def read_mapping(path: Path) -> dict[str, str]:
    """A TOML file of `folder = "class"` lines (each class needs a preset of its name)."""
    from ..engine.presets import PresetError, read_toml  # tomllib, or tomli before Python 3.11

    try:
        data = read_toml(Path(path))
    except PresetError as error:
        raise DatasetError(f"cannot read the mapping: {error}") from None
    for folder, label in data.items():
        if not isinstance(label, str) or not label:
            raise DatasetError(f"{path}: {folder}: expected a class name, got {label!r}")
    return dict(data)


def classes_of(clips: list[Clip]) -> tuple[str, ...]:
    """The classes the clips are labelled with, in order of first appearance: the model's classes."""
    return tuple(dict.fromkeys(clip.label for clip in clips))


# -- features ---------------------------------------------------------------------------------
def file_cache_key(path: Path, *made_by) -> str:
    """A cache entry's name: the file (its path, size and time) and everything that shaped
    what was computed from it (JSON-able), so a change of either is a new entry."""
    stat = path.stat()
    identity = json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns, *made_by])
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "inteleq-rt" / "features"


def long_term_balance(audio: np.ndarray, sample_rate: int, bands=PAPER_BANDS) -> np.ndarray:
    """A clip's long-term band power relative to its overall power (dB), like an LTAS."""
    balance = LongTermBalance(bands, sample_rate, audio.shape[1])
    balance.add(audio)
    return balance.levels_db()


def long_term_balance_of(path: Path) -> np.ndarray:
    """A file's long-term balance (see ``long_term_balance``)."""
    import soundfile as sf

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return long_term_balance(audio, rate)


def class_targets(balances: list[np.ndarray], labels: list[str], classes: tuple[str, ...]) -> dict[str, dict]:
    """Each class's mean long-term balance (dB re overall) and its spread across clips: match
    mode's targets, as both model families' workflows write them."""
    targets = {}
    for name in classes:
        rows = np.array([b for b, label in zip(balances, labels) if label == name])
        if len(rows):
            targets[name] = {"levels_db": rows.mean(axis=0), "spread_db": rows.std(axis=0), "clips": len(rows)}
    return targets


def save_cache(path: Path, **arrays: np.ndarray) -> None:
    """Keep one clip's arrays in the feature cache; written under a temporary name and renamed,
    so parallel workers and interrupted runs never leave a half-written entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def _clip_features(job: tuple[Clip, FeatureSpec, float, Path | None]) -> ClipFeatures | str:
    """Worker: one clip's examples and balance, from the cache when it is there."""
    import soundfile as sf

    clip, spec, every_s, cache_dir = job
    key = file_cache_key(clip.path, CACHE_VERSION, spec.to_dict(), every_s, [list(b) for b in PAPER_BANDS])
    cached = cache_dir / f"{key}.npz" if cache_dir else None
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            return ClipFeatures(clip, data["features"], data["balance"], int(data["rate"]))
    try:
        audio, rate = sf.read(str(clip.path), dtype="float32", always_2d=True)
    except Exception as error:  # reported per clip; one bad file does not stop training
        return f"{clip.path}: unreadable ({error})"
    _, features = extract_features(audio, rate, spec, every_s)
    if len(features) == 0:
        return f"{clip.path}: shorter than the {spec.stats_window_s:g} s warm-up"
    balance = long_term_balance(audio, rate)
    if cached is not None:
        save_cache(cached, features=features, balance=balance, rate=rate)
    return ClipFeatures(clip, features, balance, rate)


def extract_corpus(clips: list[Clip], spec: FeatureSpec, every_s: float, cache_dir: Path | None,
                   workers: Workers = Workers(), progress=None) -> tuple[list[ClipFeatures], list[str]]:
    """Features of every clip, in the clips' order, on ``workers`` (pool.py: local cores
    or a Dask cluster); returns results and per-clip problems."""
    outcomes = map_in_order(_clip_features, [(clip, spec, every_s, cache_dir) for clip in clips], workers,
                            progress or (lambda: None))
    return [o for o in outcomes if not isinstance(o, str)], [o for o in outcomes if isinstance(o, str)]
