"""The frozen app's entry point (PyInstaller runs this file as ``__main__``)."""

import multiprocessing
import sys

if __name__ == "__main__" and sys.argv[1:2] == ["--exaone-model-worker"]:
    # The llama.cpp worker process (exaone_desktop.engine.llama.worker) runs the app's own executable.
    from exaone_desktop.engine.llama.worker_child import main as worker_main

    worker_main()
    sys.exit(0)

if __name__ == "__main__" and sys.argv[1:2] == ["--exaone-document-worker"]:
    # Documents are read in a bounded child process (exaone_desktop.engine.documents.extract).
    from exaone_desktop.engine.documents.extract import child_main

    child_main()
    sys.exit(0)

from exaone_desktop.app import main  # noqa: E402

if __name__ == "__main__":
    # The quantizer runs in a multiprocessing child when frozen: the child re-enters here and must stop.
    multiprocessing.freeze_support()
    sys.exit(main())
