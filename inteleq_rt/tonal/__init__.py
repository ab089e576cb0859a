"""Tonal balance: a track's long-term spectrum in 1/3-octave bands, each genre's range of
them across songs (targets.py), and the correction that undoes what looks like an EQ error
against that range (rule.py), fitted as a few broad EQ filters (curve.py)."""
