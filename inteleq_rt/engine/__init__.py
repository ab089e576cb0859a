"""The audio path: input conditioning, filterbank analysis, EQ (presets or match), plugins.

Nothing here reads files, opens devices or runs a model; ``engine.Engine.process`` turns one
block into another, and other threads talk to it through its command records and snapshot.
Modules: config (defaults, limits), filterbank, levels, eq (interface, presets), match,
presets (files), plugins (VST3), commands (records), ring (input for the classifier), engine.
"""
