"""A threading HTTP server for the tests' stand-ins that stays quiet when a client goes away mid-request
(a cancelled download, a closed keep-alive connection): socketserver would print a traceback for each."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
