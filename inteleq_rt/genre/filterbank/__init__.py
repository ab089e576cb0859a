"""The paper's model family: band levels of the engine's filterbank and their statistics
(one FeatureTracker for training and streaming), into a small flax MLP."""
