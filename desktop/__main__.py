"""``python -m exaone_desktop`` (and ``python -m desktop`` from a source checkout) start the app."""

import sys

from .app import main

if __name__ == "__main__":
    sys.exit(main())
