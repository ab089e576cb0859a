"""Genre recognition as a run uses it: the model interface, the one weights loader, whole-file
verdicts, the classifier's decisions and its process beside the audio path; one subfolder per
model family (musicnn/: the tagger and its genre head, the default; filterbank/: the paper's
band-level MLP). Training lives in inteleq_rt.training, which imports this package, never the
reverse.
"""
