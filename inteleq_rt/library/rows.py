"""A library run's report: one row per file, appended the moment the file is finished (CSV,
or JSON Lines), flushed to disk, so a run that is stopped keeps every row it finished.

The file is only ever appended to, never rewritten: a rerun adds the rows of what it did,
and a reader takes a file's last row. A line cut short by a killed run is ended before the
next row, and ignored when read back.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from ..errors import InteleqError

FINISHED = ("done", "unchanged")


def _flat(row: dict) -> dict:
    """A row for CSV: nested probabilities become a column per class; lists, one text."""
    flat = {k: v for k, v in row.items() if not isinstance(v, dict)}
    for name, value in row.get("probabilities", {}).items():
        flat[f"p_{name}"] = value
    for key, value in flat.items():
        if isinstance(value, list):
            flat[key] = "; ".join(map(str, value))
    return flat


class RowReport:
    """``--csv FILE`` or ``--json FILE``, appended per file (``columns``: the CSV's)."""

    def __init__(self, path: Path, columns: list[str] | None = None) -> None:
        self.path, self.columns = Path(path), columns
        if self.path.is_dir():
            raise InteleqError(f"{self.path}: is a folder; the report is a file")
        text = self.path.read_text(errors="replace") if self.path.exists() else ""
        self.rows = self._read(text)
        self._held = {(row["input"], row.get("sha256")) for row in self.finished().values()}
        try:
            self._file = open(self.path, "a", newline="")
        except OSError as error:
            raise InteleqError(f"{self.path}: cannot write the report ({error.strerror})") from None
        if text and not text.endswith("\n"):  # a line a killed run left unfinished: end it
            self._write_line("\n")
        if self.columns is not None and not text:
            self._write_line(self._csv_line(dict(zip(self.columns, self.columns))))

    def _read(self, text: str) -> list[dict]:
        complete = text[: text.rfind("\n") + 1]  # a last line without its end was cut by a kill
        if self.columns is None:
            rows = []
            for line in complete.splitlines():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
            if text.strip() and not any(isinstance(r, dict) and {"input", "status"} <= r.keys() for r in rows):
                raise InteleqError(f"{self.path}: holds something other than a report of this tool; "
                                   "name a new report file")
            return rows
        reader = csv.DictReader(io.StringIO(complete))
        if reader.fieldnames is not None and reader.fieldnames != self.columns:
            raise InteleqError(f"{self.path}: its columns are not this run's (another command or genre "
                               "model?); name a new report file")
        return list(reader)

    def finished(self) -> dict[str, dict]:
        """The last finished row of each input the report holds."""
        return {row["input"]: row for row in self.rows if row.get("status") in FINISHED}

    def _csv_line(self, row: dict) -> str:
        out = io.StringIO()
        csv.DictWriter(out, self.columns, extrasaction="ignore", lineterminator="\n").writerow(row)
        return out.getvalue()

    def holds(self, result: dict) -> bool:
        """Whether the report held this file, with these bytes, finished before this run."""
        return (result["input"], result.get("sha256")) in self._held

    def _write_line(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, row: dict) -> None:
        self._write_line(self._csv_line(_flat(row)) if self.columns is not None else json.dumps(row) + "\n")

    def close(self) -> None:
        self._file.close()
