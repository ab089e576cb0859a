"""The `inteleq-rt` command's first lines: the signals are the command's before anything else
loads, so a Ctrl+C during the imports that follow (~0.1 s, longer on a loaded machine) is an
interrupt (exit 130, one line), not a traceback (interrupts.py)."""

from __future__ import annotations

from . import interrupts


def main() -> int:
    try:  # from the first handler on, an interrupt lands here (install's own loop included)
        interrupts.install()
        from .cli import main as run
    except KeyboardInterrupt:
        return interrupts.stopped("inteleq-rt")  # cli.parser's PROG, which is not loaded yet
    return run()
