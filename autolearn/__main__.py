"""``python -m autolearn``: the command line (see :mod:`autolearn.cli`)."""

import sys

from autolearn.cli import main

if __name__ == "__main__":
    sys.exit(main())
