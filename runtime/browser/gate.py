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
so one browser connection carries one request and every request is checked.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from weboter.runtime.core.hosts import HostRule

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024  # bytes of a request's head
HEAD_TIMEOUT = 30.0  # seconds to send it
CHUNK = 64 * 1024
REFUSED = "X-Weboter-Refused"  # the header of the gate's own refusal (the reason)


@dataclass
class Admitted:
    run_id: str
    rule: HostRule
    refused: list[str]  # what the run's pages were refused (the run's session keeps it)


class Gate:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._admitted: dict[str, Admitted] = {}  # credential -> run
        self._by_run: dict[str, str] = {}

    async def proxy_for(self, run_id: str, rule: HostRule, refused: list[str]) -> dict[str, str]:
        """Playwright's `proxy` setting for the context of `run_id` (the gate started on
        first use); what it refuses is added to `refused`."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
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
        credential = self._by_run.pop(run_id, None)
        if credential is not None:
            self._admitted.pop(credential, None)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            await self._handle(head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a client that went away or sent no proper head
        except OSError as exc:
            log.debug("gate: %s", exc)
        finally:
            with contextlib.suppress(OSError):
                writer.close()

    async def _handle(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target, _, version = rest.partition(" ")
        headers = [line for line in lines[1:] if line]
        admitted = self._admitted.get(_credential(headers))
        if admitted is None:
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="weboter"\r\nContent-Length: 0\r\n\r\n'
            )
            await writer.drain()
            return
        if method.upper() == "CONNECT":
            host, _, port = target.rpartition(":")
            url = f"https://{target}/"
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
            url = target
        why = admitted.rule.refusal(url) if host else f"{target} names no host"
        if why is not None or not port.isdigit():
            admitted.refused.append(why or f"{target}: no port")
            log.warning("gate: run %s: refused %s", admitted.run_id, why)
            body = f"refused by weboter: {why}\n".encode()
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"{REFUSED}: {why}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        upstream_reader, upstream = await asyncio.open_connection(host.strip("[]"), int(port))
        try:
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.write(_origin_form(method, target, version, headers))
            await _pipe(reader, writer, upstream_reader, upstream)
        finally:
            with contextlib.suppress(OSError):
                upstream.close()


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
