"""Genre recognition beside the audio path: features, the network, decisions, training.

The classifier reads the engine's input ring and posts decisions to the engine's command
record; training runs the same feature code over whole files (no train/serve skew).
"""
