"""The default model family: the musicnn tagger (flax) on a streamed log-mel front end, and a
genre head on its tags with a music detector on its embedding."""
