"""Finding a library's audio files, and where each one's output goes.

Folders are walked in name order, hidden entries skipped (a run's own temporaries and
records start with a dot), and any output folder inside an input folder left out, so a
rerun never takes its own outputs for inputs. What counts as audio is what libsndfile
reads, by extension; whether a file really is audio is the worker's to find out, file by file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InteleqError
from ..io.files import is_audio_name


@dataclass(frozen=True)
class Found:
    """An audio file, and its path relative to the folder it was found under."""

    path: Path
    relative: Path


def find_audio(inputs: list[Path], leave_out: Path | None = None) -> list[Found]:
    """Every audio file under ``inputs`` (folders, or files named directly), in a stable order;
    ``leave_out``: a folder not to enter (the run's own output folder)."""
    found: list[Found] = []
    excluded = leave_out.resolve() if leave_out is not None else None
    for given in inputs:
        given = Path(given)
        if given.is_file():
            found.append(Found(given, Path(given.name)))
            continue
        if not given.is_dir():
            raise InteleqError(f"{given}: no such file or folder")
        for folder, subfolders, names in os.walk(given, onerror=_raise):
            here = Path(folder)
            subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")
                                   and (excluded is None or (here / d).resolve() != excluded))
            found += [Found(here / name, (here / name).relative_to(given))
                      for name in sorted(names) if is_audio_name(Path(name))]
    return found


def _raise(error: OSError) -> None:
    raise InteleqError(f"{error.filename}: cannot read the folder ({error.strerror})")


def output_paths(found: list[Found], folder: Path, extension: str | None) -> list[Path]:
    """Each file's output under ``folder``, in the same layout (``extension``: a new format,
    e.g. ".flac"; None keeps each file's own). Two inputs that would write one output are an
    error before any work."""
    outputs = [folder / (f.relative.with_suffix(extension) if extension else f.relative) for f in found]
    seen: dict[Path, Path] = {}
    for item, output in zip(found, outputs):
        if output.resolve() == item.path.resolve():
            raise InteleqError(f"{output}: would overwrite its input; choose another output folder")
        if output in seen:
            raise InteleqError(f"{seen[output]} and {item.path} would both be written to {output}")
        seen[output] = item.path
    return outputs
