"""The `inteleq-rt` command's first lines: the signals are the command's before anything else
loads, so a Ctrl+C during the imports that follow (~10 ms, longer on a loaded machine) is an
interrupt (exit 130, one line), not a traceback (interrupts.py). Until ``interrupts`` is
loaded a signal is only noted; what comes before these lines is Python's own start-up."""

from __future__ import annotations

import signal

_noted: list[int] = []


def _note(number: int, _frame) -> None:
    _noted.append(number)


for _number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_number, _note)

from . import interrupts  # noqa: E402  (after the handlers above, on purpose)


def main() -> int:
    try:  # from the first handler on, an interrupt lands here (install's own loop included)
        interrupts.install()
        if _noted:
            raise KeyboardInterrupt
        from .cli import main as run
    except KeyboardInterrupt:
        return interrupts.stopped("inteleq-rt")  # cli.parser's PROG, which is not loaded yet
    return run()
