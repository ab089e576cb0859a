"""The shipped genre models, as package data (``inteleq_rt.weights`` once installed)."""
