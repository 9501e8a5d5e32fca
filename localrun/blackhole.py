"""A loopback listener that accepts connections and never answers: what a client sees when a
security group or a missing route drops its packets. The client's own timeout ends the wait,
exactly as in AWS (a database connect that times out, an SDK call that times out)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class BlackHole:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, 0))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, name="black-hole", daemon=True)
        self.host = host
        self.port = int(self._server.getsockname()[1])
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _hold(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self._held.append(conn)  # kept open, never read or written

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._server.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
