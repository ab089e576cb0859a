"""The shipped genre presets, as package data (``inteleq_rt.presets`` once installed)."""
