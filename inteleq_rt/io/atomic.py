"""Writing files so that nothing the user had is lost and nothing half-written is left.

Every file this program writes goes to a hidden temporary name beside its destination and
is renamed onto it when complete; a failure or Ctrl+C removes the temporary and leaves the
destination as it was. ``check_can_write`` refuses, before any work, what would overwrite
the user's files or could not be written at all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import interrupts
from ..errors import InteleqError


class AudioError(InteleqError):
    """A device or file problem, worded for the user."""


def check_can_write(path: Path, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse, before any work, to overwrite the user's files or write where nothing can go."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and path.resolve() == Path(source).resolve():
            raise AudioError(f"{path}: output would overwrite the input")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder; name the file to write (a folder takes folders of input)")
    if path.exists() and not force:
        raise AudioError(f"{path}: exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise AudioError(f"{path}: folder {path.parent} does not exist")
    # the real test (permissions, read-only filesystems, quotas), before a long run
    temporary_beside(path, ".probe").unlink()


def _identity(path: Path) -> tuple | str:
    """What makes two names one file: the inode where it exists (hard links too), else the
    path with links and ``..`` resolved."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return status.st_dev, status.st_ino


def check_outputs(outputs: dict[str, Path | None], force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """``check_can_write`` for each of a run's outputs, keyed by the option that names it; two
    that are one file are refused, since the later would replace the earlier."""
    seen: dict[tuple | str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        identity = _identity(path)
        if identity in seen:
            raise AudioError(f"{path}: {option} names the same file as {seen[identity]}; give each its own")
        seen[identity] = option
        check_can_write(path, force, inputs)


# The longest file name most filesystems take (bytes); a temporary's name must fit it too.
NAME_MAX = 255
_RANDOM_PART = 8  # what mkstemp puts between prefix and suffix


def temporary_prefix(path: Path, suffix: str = "") -> str:
    """The start of every temporary name of ``path``: hidden, its name cut (at a character)
    so that a temporary of a name up to NAME_MAX bytes still fits."""
    room = NAME_MAX - 2 - _RANDOM_PART - len(suffix.encode())
    name = Path(path).name.encode()[:room].decode(errors="ignore")
    return f".{name}."


def temporary_beside(path: Path, suffix: str) -> Path:
    """A new empty hidden file in ``path``'s folder (so a rename onto ``path`` is atomic)."""
    try:
        handle, name = tempfile.mkstemp(prefix=temporary_prefix(path, suffix), suffix=suffix, dir=path.parent)
    except OSError as error:
        raise AudioError(f"{path}: cannot write in {path.parent}: {error.strerror}") from None
    os.close(handle)
    umask = os.umask(0)  # mkstemp makes the file private; the finished file gets the usual mode
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


class AtomicOutput:
    """``with AtomicOutput(path) as temporary:`` write to ``temporary`` (a hidden name beside
    ``path`` with its extension, so tag writers know the format); on success it is renamed to
    ``path``, on any failure (or Ctrl+C) it is removed and ``path`` is untouched. A
    ``before_rename(temporary)`` set inside the block runs with the rename, signals held: what
    must be in place with the file (a library run's record) goes in one step with it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.before_rename: Callable[[Path], None] | None = None

    def __enter__(self) -> Path:
        self.temporary = temporary_beside(self.path, f".partial{self.path.suffix}")
        return self.temporary

    def __exit__(self, kind, error, _traceback) -> None:
        if error is None:
            try:
                with interrupts.committing():
                    if self.before_rename is not None:
                        self.before_rename(self.temporary)
                    os.replace(self.temporary, self.path)
                return
            except BaseException as failure:
                error = failure
        failed_writing = isinstance(error, OSError) or type(error).__name__ == "LibsndfileError"
        # worded for the user's file, never our temporary's name (and asked before the
        # temporary's space is freed)
        reason = failed_writing and (getattr(error, "strerror", None) or _why_libsndfile_failed(self.path)
                                     or str(error).replace(str(self.temporary), str(self.path)))
        self.temporary.unlink(missing_ok=True)
        if failed_writing:
            raise AudioError(f"{self.path}: writing failed: {reason}") from None
        if kind is None:  # a failure of the rename step itself
            raise error


def _why_libsndfile_failed(path: Path) -> str | None:
    """libsndfile says only "System error." when a write fails; the usual causes, checked."""
    import resource

    folder = os.statvfs(path.parent)
    if folder.f_bavail * folder.f_frsize < 1 << 20:
        return f"no space left on the device (under 1 MiB free in {path.parent})"
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit != resource.RLIM_INFINITY:
        return f"the file-size limit ({limit} bytes, `ulimit -f`) stopped it"
    return None


def write_atomically(path: Path, data: bytes | str) -> None:
    """A whole file's contents, written atomically."""
    with AtomicOutput(path) as temporary:
        if isinstance(data, str):
            temporary.write_text(data)
        else:
            temporary.write_bytes(data)
