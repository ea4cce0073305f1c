"""`resources/subscribe` for clients of the protocol before 2026-07-28 (the MCP Inspector of
2025, most hosts of 2025): the SDK serves only `subscriptions/listen` on its own, so such a
client was told "Method not found". Each connection's subscribed URIs are kept here (one that
is gone is forgotten), and `following` (updates.py) tells them of each change as it tells the
listeners of the new protocol.

The SDK has no public way to serve a method the 2026 revision removed; its docs name the
low-level `Server.add_request_handler` for that, which only the server's `_lowlevel_server`
reaches: that one name is used here and nowhere else (tests/mcp/test_mcp.py subscribes as a
2025 client).
"""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession

KEPT = 256  # connections remembered at most (the oldest forgotten first)


class Subscribers:
    """Which URIs each legacy connection subscribed to.

    The SDK hands a handler a new `ServerSession` per request (its notifications go out on
    the connection's own channel); a connection is told apart by its `client_params` (the
    client's `initialize`, one object per connection), kept alive here with its last session.
    """

    def __init__(self) -> None:
        self._connections: dict[int, tuple[Any, ServerSession, set[str]]] = {}

    def serve(self, server: MCPServer) -> None:
        """Serve `resources/subscribe` and `resources/unsubscribe` on `server`."""
        lowlevel = server._lowlevel_server  # the one way (module docstring)
        lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, self._on)
        lowlevel.add_request_handler(
            "resources/unsubscribe", types.UnsubscribeRequestParams, self._off
        )

    async def _on(self, ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        client = ctx.session.client_params or ctx.session
        _client, _session, uris = self._connections.pop(id(client), (client, None, set()))
        uris.add(str(params.uri))
        self._connections[id(client)] = (client, ctx.session, uris)
        while len(self._connections) > KEPT:
            del self._connections[next(iter(self._connections))]
        return types.EmptyResult()

    async def _off(self, ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        client = ctx.session.client_params or ctx.session
        found = self._connections.get(id(client))
        if found is not None:
            found[2].discard(str(params.uri))
            if not found[2]:  # subscribed to nothing more: nothing to keep it for
                del self._connections[id(client)]
        return types.EmptyResult()

    async def updated(self, uri: str) -> None:
        """Tell every connection subscribed to `uri`; one that cannot be told is forgotten."""
        for key, (_client, session, uris) in list(self._connections.items()):
            if uri not in uris:
                continue
            try:
                await session.send_resource_updated(uri)
            except Exception:  # its client left: nobody to tell any more
                self._connections.pop(key, None)
