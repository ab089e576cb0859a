"""Sources and sinks: audio files, audio devices and their streams, and atomic file writing.

The engine never sees a device or a file; these modules feed it blocks and take its output.
"""
