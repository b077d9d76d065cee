"""``python -m exaone_desktop`` (and ``python -m desktop`` from a source checkout) start the app.

From a checkout, ``python -m desktop`` would load every module a second time under the name ``desktop``
beside the installed ``exaone_desktop`` that the model worker and the document reader import (two copies of
each class: a reply's events then match no type). So it runs the installed package's names instead.
"""

import importlib.util
import runpy
import sys

if __name__ == "__main__":
    if __package__ != "exaone_desktop" and importlib.util.find_spec("exaone_desktop") is not None:
        runpy.run_module("exaone_desktop", run_name="__main__", alter_sys=True)
    else:
        from .app import main

        sys.exit(main())
