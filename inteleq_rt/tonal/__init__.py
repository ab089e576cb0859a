"""Tonal balance: a track's long-term spectrum in 1/3-octave bands, each genre's range of
them across songs (targets.py), and the correction that moves only what lies outside it
(rule.py), fitted as a few broad EQ filters (curve.py)."""
