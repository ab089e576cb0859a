"""`python -m inteleq_rt`: the same as the `inteleq-rt` command."""

import sys

from .command import main

sys.exit(main())
