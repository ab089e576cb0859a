"""`inteleq-rt`: live monitoring (default), file processing, analysis, training, benchmarks.

parser.py holds the grammar, audio.py and tools.py the commands; each command builds the
library's ``Options``, calls the library and prints. Every failure a user can cause
(``InteleqError``, or the system's own error on a file) ends in one line on stderr and a
non-zero exit status; anything else is an internal error, still one line.
"""

from __future__ import annotations

import importlib
import os
import sys

from .. import interrupts
from ..errors import EXIT_ERROR, InteleqError
from .parser import PROG, SUBCOMMANDS, build_parser, names_folders


_RUNNERS = {None: ("audio", "run_monitor"), "process": ("audio", "run_process"), "analyze": ("audio", "run_analyze"),
            "demo": ("audio", "run_demo"), "classify": ("library", "run_classify"), "train": ("tools", "run_train"),
            "bench": ("tools", "run_bench"), "presets": ("tools", "run_presets"), "targets": ("tools", "run_targets"),
            "plugins": ("tools", "run_plugins")}


def _runner(command: str | None):
    """The command's function, importing its module alone: the audio commands' engine
    (~1 s of imports) waits until a command needs it."""
    module, name = _RUNNERS[command]
    return getattr(importlib.import_module(f".{module}", __package__), name)


def _writes_one_output(command: str | None, args) -> bool:
    """Whether the command's work ends with one output renamed into place (a folder run's
    outputs are many, each committed on its own)."""
    if command == "analyze":
        return True
    return command == "process" and not names_folders(args.input)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    try:  # from the first handler on, an interrupt lands inside this try (3.11 checks for
        # signals at every call and loop, install's own loop included)
        interrupts.install()
        args = build_parser(command).parse_args(argv[1:] if command else argv)
        interrupts.set_finish_on_commit(_writes_one_output(command, args))
        return _runner(command)(args)
    except KeyboardInterrupt:
        return interrupts.stopped(PROG)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except InteleqError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:  # the system's own words, with the file
        where = f"{error.filename}: " if error.filename else ""
        print(f"{PROG}: error: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # never a traceback
        if interrupts.interrupted():  # a library's own error for the interrupt that cut it
            return interrupts.stopped(PROG)
        print(f"{PROG}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        interrupts.finish()  # the command is over: no signal cuts its exit short
