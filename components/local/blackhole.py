"""A loopback address where connections time out, as they do in AWS when a security group or
a missing route drops the packets.

A listening socket that never accepts, with a backlog of zero and its queue already full:
Linux then drops every new SYN, so a client's `connect()` waits until its own connect
timeout, exactly as against a dropped path (not refused, not half-open).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from types import TracebackType

FILLERS = 2
QUEUE_FILL_TIMEOUT_S = 5.0


class BlackHole:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind((host, 0))
        self._server.listen(0)
        self.port = int(self._server.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(FILLERS):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, self.port))
            self._fillers.append(filler)
        # Wait until the first filler's handshake has landed in the accept queue (the queue is then
        # full); a fixed pause is not enough on a loaded machine, where a client could still get in.
        select.select([], self._fillers[:1], [], QUEUE_FILL_TIMEOUT_S)
        time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._server.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
