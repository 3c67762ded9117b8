"""``python -m optimtx``: see `optimtx.cli.main`."""

from __future__ import annotations

import sys

from optimtx.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
