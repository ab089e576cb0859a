"""Many files at once: a music library classified or equalized folder by folder, on this
machine's cores or a Dask cluster, resumable.

walk.py finds the files, pool.py maps the work over workers (local processes or Dask),
work.py is one file's work in a worker, record.py the record that lets a rerun skip a
finished output, tags.py carries tags and artwork over, rows.py the per-file report,
progress.py the bar and the summary, run.py ties them together for the CLI.
"""
