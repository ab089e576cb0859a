"""`inteleq-rt train`: corpora, cached features, grouped cross-validation, checks across
corpora, model cards and targets, for both model families (genre/musicnn, genre/filterbank).
It imports inteleq_rt.genre; nothing a run loads imports it."""
