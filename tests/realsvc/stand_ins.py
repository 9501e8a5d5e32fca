"""Misbehaving endpoints on loopback, each owned by the test that starts it.

* :class:`Tarpit`: accepts every connection and never sends a byte (a frozen server, a
  database that never greets, an AWS endpoint that never answers).
* :class:`HttpStub`: answers every request with a fixed status and body (an endpoint that
  answers something that is not an answer).
* :class:`TrickleProxy`: passes connections on to a real server, but hands the server's bytes
  to the client one at a time, slowly, after the first ``fast_bytes`` (a server or a network
  path that keeps sending, too slowly to ever finish).
* :func:`closed_port`: a port held bound without listening, so connecting is refused
  for as long as the test runs, whatever else runs on the machine.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class Tarpit:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind((host, 0))
        self._server.listen(16)
        self._server.settimeout(0.1)
        self.port = int(self._server.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tarpit", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)  # kept open and never read: the client waits for an answer

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self._server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class HttpStub:
    def __init__(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(self.rfile.read(length).decode(errors="replace"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-stub", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class TrickleProxy:
    def __init__(self, target_port: int, *, delay_s: float, fast_bytes: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.delay_s = delay_s
        self.fast_bytes = fast_bytes
        self.trickled = threading.Event()
        """Set once the proxy has started trickling on some connection."""
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind((host, 0))
        self._server.listen(16)
        self._server.settimeout(0.1)
        self.port = int(self._server.getsockname()[1])
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, name="trickle-accept", daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection((self.host, self.target_port))
            self._sockets += [client, upstream]
            for target, args in ((self._pass_on, (client, upstream)), (self._trickle, (upstream, client))):
                thread = threading.Thread(target=target, args=args, name="trickle-pump", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pass_on(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def _trickle(self, source: socket.socket, sink: socket.socket) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while not self._stopping.is_set() and (data := source.recv(65536)):
                fast = data[:max(0, self.fast_bytes - sent)]
                sink.sendall(fast)
                sent += len(fast)
                for index in range(len(fast), len(data)):
                    self.trickled.set()
                    if self._stopping.wait(self.delay_s):
                        return
                    sink.sendall(data[index:index + 1])
                    sent += 1

    def close(self) -> None:
        self._stopping.set()
        self._server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections until the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
