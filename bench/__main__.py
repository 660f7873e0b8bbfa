"""`python -m bench` (what `make bench` runs)."""

import sys
import warnings

# Before the imports below: platformdirs warns at import time about XDG_RUNTIME_DIR, which is noise here.
warnings.filterwarnings("ignore", module="platformdirs")

from bench.main import main  # noqa: E402

sys.exit(main())
