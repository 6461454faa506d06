"""A TCP server on 127.0.0.1 that answers HTTP requests badly on purpose.

Each connection gets the answer of ``behaviour``: a body far over any limit,
one dripped a byte at a time, headers dripped, a redirect, a refusal, or
silence. Every
loop is bounded, and the server counts the bytes it managed to send, so a
test can tell that the client stopped reading early.
"""

from __future__ import annotations

import socket
import threading
import time


class MisbehavingServer:
    """``with MisbehavingServer("huge") as server: ... server.url ... server.sent``"""

    def __init__(self, behaviour: str, *, location: str = "", size: int = 64 * 1024 * 1024, interval: float = 0.1):
        self.behaviour = behaviour
        self.location = location
        self.size = size
        self.interval = interval
        self.sent = 0
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/document"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for worker in self._workers:
            worker.join(timeout=10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            worker = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._workers.append(worker)
            worker.start()

    def _send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)

    def _drip(self, connection: socket.socket, data: bytes) -> None:
        for byte in data:  # bounded by len(data)
            if self._stop.is_set():
                return
            self._send(connection, bytes([byte]))
            time.sleep(self.interval)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        try:
            connection.recv(65536)
            self.requests += 1
            getattr(self, f"_{self.behaviour}")(connection)
        except OSError:
            pass  # the client hung up: exactly what most tests want
        finally:
            connection.close()

    def _huge(self, connection: socket.socket) -> None:
        self._send(connection, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        chunk = b" " * 65536
        for _ in range(self.size // len(chunk)):
            if self._stop.is_set():
                return
            self._send(connection, chunk)

    def _drip_body(self, connection: socket.socket) -> None:
        body = b'{"keys": []}' + b" " * 200
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self._send(connection, head.encode())
        self._drip(connection, body)

    def _drip_headers(self, connection: socket.socket) -> None:
        self._drip(connection, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n{}")

    def _redirect(self, connection: socket.socket) -> None:
        head = f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        self._send(connection, head.encode())

    def _refuse(self, connection: socket.socket) -> None:
        body = b'{"error": "invalid_request"}'
        head = f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self._send(connection, head.encode() + body)

    def _hang(self, connection: socket.socket) -> None:
        self._stop.wait(60)
