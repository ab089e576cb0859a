"""The one error type users see: the CLI prints it as a single line and exits non-zero."""

EXIT_ERROR = 1  # the command's status after such a line (or after files that failed)
EXIT_INTERRUPTED = 130  # stopped by Ctrl+C, SIGTERM or SIGHUP: 128 + SIGINT, as a shell says it


class InteleqError(Exception):
    """A problem the user can fix (input, options, files, devices), worded for them.

    Each room raises its own subclass (AudioError, PresetError, WeightsError, ...), so a
    library caller can tell them apart, and the CLI catches this base alone.
    """
