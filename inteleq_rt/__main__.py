"""`python -m inteleq_rt`: the same as the `inteleq-rt` command."""

import sys

from .cli import main

sys.exit(main())
