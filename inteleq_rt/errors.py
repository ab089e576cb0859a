"""The one error type users see: the CLI prints it as a single line and exits non-zero."""


class InteleqError(Exception):
    """A problem the user can fix (input, options, files, devices), worded for them.

    Each room raises its own subclass (AudioError, PresetError, WeightsError, ...), so a
    library caller can tell them apart, and the CLI catches this base alone.
    """
