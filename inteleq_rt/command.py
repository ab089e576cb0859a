"""The `inteleq-rt` command's first lines: the signals are the command's before anything else
loads, so a Ctrl+C during the imports that follow (~0.1 s, longer on a loaded machine) is an
interrupt (exit 130, one line), not a traceback (interrupts.py)."""

from __future__ import annotations

import sys

from . import interrupts
from .errors import EXIT_INTERRUPTED


def main() -> int:
    try:  # from the first handler on, an interrupt lands here (install's own loop included)
        interrupts.install()
        from .cli import main as run
    except KeyboardInterrupt:
        print("inteleq-rt: interrupted; no output was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    return run()
