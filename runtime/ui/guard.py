"""Who may use the dev UI (docs/ui.md, "Security").

- **Token**: the UI has a token (random per start, or `--token`), and every request needs it,
  on loopback too (another account or container on the same host must not drive your runs or
  read what your browser held): `?token=` on `/` only (the printed URL, answered with a
  redirect to the page), the cookie the page keeps, or the `X-Weboter-Token` header (scripts).
- **The cookie goes to the UI alone.** Browsers send a host's cookies to every port of it
  (and SameSite counts every port as the same site), so a cookie scoped to `/` would reach any
  other service the person opens on 127.0.0.1. The page therefore lives under a path of its
  own, derived one way from the token (`page_path`), and its HttpOnly, SameSite=Strict cookie
  is scoped to that path: another service gets a request there only if it already knows it.
- **Host**: on loopback, only requests addressed to the UI's own name pass (a web page
  elsewhere cannot reach it by pointing its own domain at 127.0.0.1: DNS rebinding).
- **Changes** (every POST) need the token in the `X-Weboter-Token` header — which another
  site's page can neither read nor send without a CORS preflight the UI never grants — and,
  when the browser sends an `Origin`, that it is the UI's own.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from weboter.runtime.transport.bridge import is_loopback as endpoint_is_loopback


def cookie_name(port: int) -> str:
    """One cookie per UI: browsers share cookies between the ports of a host."""
    return f"weboter_ui_{port}"


def page_path(token: str) -> str:
    """Where the page lives (no trailing slash: the cookie's `Path`). Derived from the token,
    so a fixed `--token` keeps bookmarks valid across restarts; one way, so the address bar,
    history or a screen share showing it gives nobody the token. 128 bits: another service
    cannot guess it to have the browser send it the cookie."""
    digest = hmac.new(token.encode(), b"weboter ui page", hashlib.sha256).hexdigest()
    return f"/ui-{digest[:32]}"


HEADER = "x-weboter-token"


class Guard:
    """ASGI middleware that refuses what the rules above do not allow, with the reason."""

    def __init__(
        self, app: ASGIApp, *, token: str, hosts: set[str], loopback: bool, cookie: str
    ) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts  # "host:port" values the UI answers to
        self.loopback = loopback
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: dict[str, str]) -> Response | None:
        if self.loopback and headers.get("host", "") not in self.hosts:
            return _refused(
                421, "this UI answers only to its own address", "open the URL it printed"
            )
        method = scope["method"]
        header_token = headers.get(HEADER, "")
        if method not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != headers.get("host"):
                return _refused(403, f"requests from {origin} are not allowed", "")
            if not self._matches(header_token):
                return _refused(
                    403,
                    "a change needs the UI's token in the X-Weboter-Token header",
                    "use the page the UI serves; scripts read the token from `weboter ui --json`",
                )
            return None
        # the token in a URL only on the entry: a URL lands in history, logs and Referers
        query = _query(scope, "token") if scope["path"] == "/" else ""
        if not (
            self._matches(header_token)
            or self._matches(query)
            or any(self._matches(c) for c in _cookies(headers, self.cookie))
        ):
            return _refused(
                401,
                "this UI needs its token",
                "open the URL `weboter ui` printed (it carries the token once); scripts send "
                "the X-Weboter-Token header (`weboter ui --json` prints the token)",
            )
        return None

    def _matches(self, given: str) -> bool:
        return matches(given, self.token)


def matches(given: str, token: str) -> bool:
    """`given` is the token (compared in constant time)."""
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _refused(status: int, message: str, hint: str) -> Response:
    return JSONResponse({"error": {"message": message, "hint": hint}}, status_code=status)


def _query(scope: Scope, name: str) -> str:
    from urllib.parse import parse_qs  # noqa: PLC0415

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else ""


def _cookies(headers: dict[str, str], name: str) -> list[str]:
    """Every value sent under `name`: another port of the host can set one of the same name
    for path `/` (it cannot read ours), and one such decoy must not lock the page out."""
    found = []
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            found.append(value)
    return found


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values that name this UI: the bound host, and for loopback its names."""
    names: set[str] = {host if ":" not in host else f"[{host}]"}
    if is_loopback(host):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return {f"{n}:{port}" for n in names}


def is_loopback(host: str) -> bool:
    """The transport's rule (a loopback address, or localhost), for a bare host name."""
    return endpoint_is_loopback(f"tcp://[{host}]:1" if ":" in host else f"tcp://{host}:1")
