"""The audio path: input conditioning, filterbank analysis, EQ (presets, match or range),
plugins, level matching and the limiter.

Nothing here opens devices or runs a model, and nothing reads a file once audio flows:
building an ``Engine`` loads its presets (a folder of TOML files) and plugins, before the
first block; ``engine.Engine.process`` turns one block into another, and other threads talk
to it through its command records and snapshot. Modules: config (defaults, limits), front
(input conditioning), filterbank, levels, eq (interface, presets), match, curve_eq (range),
presets (files), plugins (VST3), loudness (BS.1770, level matching), limiter, truepeak,
seqlock, commands (records), snapshot, ring (input for the classifier), jit (numba), engine.
"""
