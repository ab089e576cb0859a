"""What makes a library run resumable: a small record beside each finished output.

The record (a hidden ``.<output name>.inteleq-rt.json``) holds the input's content hash, the
fingerprint of everything that shaped the output (options, presets, model, program
version) and the output's size and time as written. A later run skips the file only when
all of them still hold; an output with no record of ours is the user's, and is not touched
without --force. The output and its record are committed together, with Ctrl+C held off
for the two renames (io/atomic.py's ``before_rename``), so an interrupted run never leaves
one without the other.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from ..io.atomic import temporary_prefix, write_atomically
from ..options import Options

SUFFIX = ".inteleq-rt.json"
# Not fingerprinted as written: what does not change the audio (where the per-file timeline
# goes, whether to overwrite), and the files whose contents are fingerprinted instead (so a
# run on a cluster, which names them by absolute paths, matches a local one).
NOT_AS_WRITTEN = ("report", "force", "save_preset", "weights", "presets", "targets", "reference", "preset_file")


def record_path(output: Path) -> Path:
    return Path(output).with_name(f".{Path(output).name}{SUFFIX}")


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes: a renamed or touched file is still the same input."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # (hashlib.file_digest is Python 3.11's)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(options: Options, output_format: str = "") -> str:
    """Everything that shapes a render: the options, the contents of the presets, targets and
    --preset file, the genre model's files (automatic mode), a --reference track's bytes, the
    program version."""
    from importlib.metadata import PackageNotFoundError, version

    from ..resources import presets_dir, weights_dir

    try:
        program = version("inteleq-rt")
    except PackageNotFoundError:
        program = "source"
    chosen = {key: str(value) if isinstance(value, Path) else value
              for key, value in asdict(options).items() if key not in NOT_AS_WRITTEN}
    parts = {"program": program, "options": chosen, "format": output_format,
             "presets": _files_digest(list(presets_dir(options.presets).glob("*.toml")))}
    for key, path in (("targets", options.targets), ("preset_file", options.preset_file)):
        if path is not None:
            parts[key] = _files_digest([Path(path)])
    if options.automatic:
        folder = weights_dir(options.weights)
        parts["model"] = _files_digest([p for p in folder.iterdir() if p.suffix in (".json", ".msgpack")])
    if options.reference is not None:  # a track, or a folder of them: their bytes
        reference = Path(options.reference)
        parts["reference"] = _files_digest(sorted(p for p in reference.rglob("*") if p.is_file())
                                           if reference.is_dir() else [reference])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_record(output: Path) -> dict | None:
    try:
        return json.loads(record_path(output).read_text())
    except (OSError, ValueError):
        return None


def made_by_us(output: Path, record: dict | None) -> bool:
    """Whether ``output`` is the very file a record of ours describes (not since replaced)."""
    try:
        stat = Path(output).stat()
    except OSError:
        return False
    return record is not None and (record.get("output_size"), record.get("output_mtime_ns")) == (
        stat.st_size, stat.st_mtime_ns)


def is_current(output: Path, record: dict | None, input_hash: str, made_with: str) -> bool:
    """A finished output the next run may skip: same input bytes, same fingerprint, untouched."""
    return (made_by_us(output, record) and record.get("input_sha256") == input_hash
            and record.get("fingerprint") == made_with)


def write_record(finished: Path, output: Path, record: dict) -> None:
    """The record of a finished render, written as the render is put in place (process_file's
    ``before_commit``: one step with the rename, signals held). The record goes first (a rename
    keeps the file's size and time): a kill between the two renames leaves a record of a file
    not yet there, which the next run simply redoes."""
    stat = Path(finished).stat()
    write_atomically(record_path(output), json.dumps(
        {**record, "output_size": stat.st_size, "output_mtime_ns": stat.st_mtime_ns}, indent=1))


def remove_leftovers(output: Path) -> None:
    """A killed run's temporaries of this output, which no one else writes."""
    prefix = glob.escape(temporary_prefix(Path(output), f".partial{Path(output).suffix}"))
    for leftover in Path(output).parent.glob(f"{prefix}*.partial*"):
        leftover.unlink(missing_ok=True)
