"""The gate: a forward proxy on loopback through which the browser context of a run with a host
rule (runtime/core/hosts.py) reaches the network.

A page is code the site controls: it can load, fetch, redirect and open sockets anywhere, and
Playwright's request routing does not see the hops of a redirect. Chromium sends every request
of a context that has a proxy through it, each redirect hop and WebSocket included (loopback
too, with the `<-loopback>` bypass rule), so the gate sees every host the run's pages reach
and refuses the ones the rule does not allow (403, or no tunnel for https). Each run's context
authenticates to the gate with a credential of its own, which names its rule: no other program
can use the gate, and one run's rule is never another's.

It runs on the Node Runner's event loop; HTTP requests go upstream with `Connection: close`,
so a browser connection carries one request and each is checked (a browser that kept one open
anyway could only send there again to the same host). What a run is refused is kept (the
first 100) for its nodes' errors, and logged (the first 5); a host that cannot be reached is
answered 502 with the reason; a run's connections close when it is forgotten.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from weboter.runtime.core.hosts import DEFAULT_PORTS, HostRule

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024  # bytes of a request's head
HEAD_TIMEOUT = 30.0  # seconds to send it
CONNECT_TIMEOUT = 30.0  # seconds to reach the host upstream
CHUNK = 64 * 1024
KEPT = 100  # refusals kept per run (for its nodes' errors); the log says the first few
SAID = 5


@dataclass
class Admitted:
    run_id: str
    rule: HostRule
    refused: list[str]  # "URL: why" of what the run's pages were refused (its session keeps it)
    open: set[asyncio.StreamWriter] = field(default_factory=set)  # its connections now
    told: int = 0  # refusals logged


class Gate:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._admitted: dict[str, Admitted] = {}  # credential -> run
        self._by_run: dict[str, str] = {}

    async def proxy_for(self, run_id: str, rule: HostRule, refused: list[str]) -> dict[str, str]:
        """Playwright's `proxy` setting for the context of `run_id` (the gate started on
        first use); what it refuses is added to `refused`."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT)
        port = self._server.sockets[0].getsockname()[1]
        self.forget(run_id)
        credential = secrets.token_hex(16)
        self._admitted[credential] = Admitted(run_id, rule, refused)
        self._by_run[run_id] = credential
        return {
            "server": f"http://127.0.0.1:{port}",
            "bypass": "<-loopback>",  # loopback goes through the gate too
            "username": credential,
            "password": "weboter",
        }

    def forget(self, run_id: str) -> None:
        """The run's credential is void and its open connections are closed."""
        credential = self._by_run.pop(run_id, None)
        admitted = self._admitted.pop(credential, None) if credential is not None else None
        for writer in admitted.open if admitted is not None else ():
            writer.close()

    async def close(self) -> None:
        for run_id in list(self._by_run):
            self.forget(run_id)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        admitted: Admitted | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            lines = head.decode("latin-1").split("\r\n")
            headers = [line for line in lines[1:] if line]
            admitted = self._admitted.get(_credential(headers))
            if admitted is None:
                await _answer(writer, "407 Proxy Authentication Required", "", _CHALLENGE)
                return
            admitted.open.add(writer)
            await self._handle(admitted, lines[0], headers, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
            pass  # a client that went away, or sent no proper head
        except OSError as exc:
            log.debug("gate: %s", exc)
        finally:
            if admitted is not None:
                admitted.open.discard(writer)
            with contextlib.suppress(OSError):
                writer.close()

    async def _handle(
        self,
        admitted: Admitted,
        request: str,
        headers: list[str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        method, _, rest = request.partition(" ")
        target, _, version = rest.partition(" ")
        tunnel = method.upper() == "CONNECT"
        url = f"https://{target}/" if tunnel else target
        try:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        except ValueError:  # a port that is not one
            host, port = "", 0
        why = admitted.rule.refusal(url) if host else f"{target!r} names no host and port"
        if why is not None:
            self._refused(admitted, f"{url}: {why}")
            await _answer(writer, "403 Forbidden", f"refused by weboter: {why}")
            return
        try:
            upstream_reader, upstream = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=HEAD_LIMIT), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {CONNECT_TIMEOUT:g} s"
            await _answer(writer, "502 Bad Gateway", f"weboter's gate: {host}:{port}: {reason}")
            return
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.write(_origin_form(method, target, version, headers))
            await _pipe(reader, writer, upstream_reader, upstream)
        finally:
            with contextlib.suppress(OSError):
                upstream.close()

    @staticmethod
    def _refused(admitted: Admitted, said: str) -> None:
        if len(admitted.refused) < KEPT:
            admitted.refused.append(said)
        admitted.told += 1
        if admitted.told <= SAID:
            log.warning("gate: run %s: refused %s", admitted.run_id, said)
        elif admitted.told == SAID + 1:
            log.warning("gate: run %s: refusing more (not said)", admitted.run_id)


_CHALLENGE = 'Proxy-Authenticate: Basic realm="weboter"\r\n'


async def _answer(writer: asyncio.StreamWriter, status: str, text: str, more: str = "") -> None:
    body = (text + "\n").encode() if text else b""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{more}"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()


def _credential(headers: list[str]) -> str:
    for line in headers:
        name, _, value = line.partition(":")
        if name.strip().lower() == "proxy-authorization":
            scheme, _, encoded = value.strip().partition(" ")
            if scheme.lower() != "basic":
                return ""
            try:
                return base64.b64decode(encoded).decode("latin-1").partition(":")[0]
            except (binascii.Error, ValueError):
                return ""
    return ""


def _origin_form(method: str, target: str, version: str, headers: list[str]) -> bytes:
    """The request as the origin server takes it: the path only, no proxy headers, and the
    connection closed after it (the next request comes through the gate again)."""
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [
        line
        for line in headers
        if line.partition(":")[0].strip().lower()
        not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")
    ]
    upgrade = any(line.partition(":")[0].strip().lower() == "upgrade" for line in headers)
    kept.append("Connection: Upgrade" if upgrade else "Connection: close")
    return (f"{method} {path} {version}\r\n" + "\r\n".join(kept) + "\r\n\r\n").encode("latin-1")


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until either side closes."""

    async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError):
            sink.close()

    await asyncio.gather(copy(reader, upstream), copy(upstream_reader, writer))
