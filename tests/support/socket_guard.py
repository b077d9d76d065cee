"""Fail a test on any network connection outside an allow-list (the test's own stand-in servers).

``socket.socket.connect``/``connect_ex`` and ``socket.create_connection`` are patched for the
duration of the ``with`` block. A blocked attempt raises ``OSError`` at once (so the code under test
sees a network failure) and is also recorded, and leaving the block raises ``BlockedConnection``
listing every blocked attempt: code that swallows network errors still fails the test.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

Address = Any  # (host, port) for IP sockets, a path for AF_UNIX


class BlockedConnection(AssertionError):
    pass


class Guard:
    def __init__(self, allow: Iterable[Address]) -> None:
        self.allow = {self._key(a) for a in allow}
        self.blocked: list[Address] = []
        self.allowed: list[Address] = []

    @staticmethod
    def _key(address: Address) -> Address:
        if isinstance(address, tuple):
            host = "127.0.0.1" if address[0] == "localhost" else address[0]
            return (host, int(address[1]))
        return address

    def check(self, address: Address) -> None:
        key = self._key(address)
        if key in self.allow:
            self.allowed.append(key)
            return
        self.blocked.append(address)
        raise OSError(f"socket_guard: connection to {address!r} blocked in this test")


@contextmanager
def socket_guard(allow: Iterable[Address] = ()) -> Iterator[Guard]:
    guard = Guard(allow)
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection

    def connect(self: socket.socket, address: Address) -> None:
        guard.check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Address) -> int:
        guard.check(address)
        return real_connect_ex(self, address)

    def create_connection(address: Address, *args: Any, **kwargs: Any) -> socket.socket:
        guard.check(address)
        return real_create(address, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection  # type: ignore[assignment]
    try:
        yield guard
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign,assignment]
        socket.create_connection = real_create
    if guard.blocked:
        raise BlockedConnection(f"unexpected network connection(s): {guard.blocked!r}")
