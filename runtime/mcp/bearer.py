"""`weboter mcp --http`: Streamable HTTP on loopback, every request with the server's token.

Loopback is not a boundary between the accounts of one host (any local process can connect),
so every request must carry `Authorization: Bearer TOKEN` (the token: runtime/mcp/tokens.py);
without it, or with another, the answer is 401 and a body that says which header and where
the token is, as a JSON-RPC error (an MCP client shows its message) — never the token itself.
The SDK's own Host/Origin checks (DNS rebinding) stay behind this one.

    serve_http(server, sock, host, token=token, told=told)   # until SIGINT/SIGTERM
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

NOT_AUTHORIZED = -32001  # the JSON-RPC error code of the 401's body


class BearerGuard:
    """ASGI middleware: an HTTP request passes only with the token (compared in constant
    time); `told` says where a client finds it, for the refusal's hint."""

    def __init__(self, app: ASGIApp, *, token: str, told: str) -> None:
        self.app = app
        self.digest = _digest(token)
        self.told = told

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: the SDK's session manager
            await self.app(scope, receive, send)
            return
        given = bearer_of(scope)
        if given is not None and hmac.compare_digest(_digest(given), self.digest):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # the server has none: closed before it is accepted
            await send({"type": "websocket.close", "code": 1008})
            return
        what = (
            "this MCP server needs a bearer token and the request has none"
            if given is None
            else "the bearer token the request sent is not this server's"
        )
        await _refuse(send, what, self.told)


def bearer_of(scope: Scope) -> str | None:
    """The token of the request's `Authorization: Bearer ...` header, if it has one."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").strip().partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _digest(token: str) -> bytes:
    """Equal-length values to compare: not even the token's length shows in the timing."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


async def _refuse(send: Send, what: str, told: str) -> None:
    hint = f"send the header `Authorization: Bearer TOKEN`, with {told}"
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": NOT_AUTHORIZED,
            "message": f"{what} (to fix: {hint})",
            "data": {"header": "Authorization: Bearer TOKEN", "token": told},
        },
    }
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"www-authenticate", b'Bearer realm="weboter mcp"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def serve_http(server: MCPServer, sock: socket.socket, host: str, *, token: str, told: str) -> None:
    """Serve `server` at /mcp on the bound `sock` until the process is told to stop."""
    import uvicorn  # noqa: PLC0415 - only for --http

    # `host` turns on the SDK's Host/Origin checks for a loopback address
    app = BearerGuard(server.streamable_http_app(host=host), token=token, told=told)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
