"""The frozen app's entry point (PyInstaller runs this file as ``__main__``)."""

import multiprocessing
import sys

from exaone_desktop.app import main

if __name__ == "__main__":
    # The quantizer runs in a multiprocessing child when frozen: the child re-enters here and must stop.
    multiprocessing.freeze_support()
    sys.exit(main())
