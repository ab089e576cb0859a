"""Many files at once: a music library classified or equalized folder by folder, on this
machine's cores or a Dask cluster, resumable.

walk.py finds the files, work.py is one file's work in a worker (mapped over local
processes or Dask by ../pool.py, which training uses too), record.py the record that lets
a rerun skip a finished output, rows.py the per-file report, progress.py the bar and the
summary, run.py ties them together for the CLI.
"""
