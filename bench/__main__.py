"""`python -m bench` (what `make bench` runs)."""

import sys

from bench.main import main

sys.exit(main())
