"""A real HTTP server on loopback whose pages answer when the test says so: `GET /NAME` is held
until `open(NAME)`. It keeps the order requests arrived in and the most it held at once, so a
test can hold runs on a node of its choosing and count how many run together without timing.
`with GateServer() as gate: gate.url`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HELD_AT_MOST = 120.0  # seconds a request waits to be let through (a test that forgets it)


class GateServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.changed = threading.Condition()
        self.arrived: list[str] = []  # names, in the order their requests came
        self.opened: set[str] = set()
        self.held = 0  # requests waiting now
        self.most = 0  # the most waiting at once
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def open(self, name: str) -> None:
        """Let `name`'s requests (held and future) through."""
        with self.changed:
            self.opened.add(name)
            self.changed.notify_all()

    def wait_arrived(self, count: int, timeout: float = 60.0) -> list[str]:
        """The names of the first `count` requests, once that many came (AssertionError if
        they do not within `timeout`)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.arrived) >= count, timeout):
                raise AssertionError(f"{count} requests expected, {self.arrived} came")
            return self.arrived[:count]

    def __enter__(self) -> GateServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.changed:
            self.opened.add("*")
            self.changed.notify_all()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: GateServer

    def do_GET(self) -> None:
        gate, name = self.server, self.path.strip("/")
        with gate.changed:
            gate.arrived.append(name)
            gate.held += 1
            gate.most = max(gate.most, gate.held)
            gate.changed.notify_all()
            gate.changed.wait_for(lambda: bool({name, "*"} & gate.opened), HELD_AT_MOST)
            gate.held -= 1
        body = b"open"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away while held (its engine was killed)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass
