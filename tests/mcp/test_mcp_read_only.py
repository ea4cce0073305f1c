"""A read-only MCP client causes no side effect: `page_snapshot` of a run that ended answers from
the evidence the run recorded — no request reaches the site (the recorded GET carried a secret
in its URL), no browser is started — and a browser's stored cookies are never handed out."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import flow, node
from tests.mcp.served import Served, client_of, mcp_http
from tests.mcp.test_mcp import call
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.settings import Settings
from weboter.runtime.mcp import build_server

pytestmark = pytest.mark.timeout(300)

SECRET = "bank-key-5f1c9e"  # in the page's URL: `$env{bank_key}`
COOKIE = "session-7d2a41b8e6"  # the site's session cookie, kept in the browser's storage
PAGE = (
    b"<html><head><title>Account overview</title></head>"
    b"<body><h1>Account overview</h1><p>Balance: 42 coins</p></body></html>"
)


class RecordingSite(ThreadingHTTPServer):
    """A site on loopback that keeps every request it gets (path), and sets a session cookie."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.requests)


class _Handler(BaseHTTPRequestHandler):
    server: RecordingSite

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Set-Cookie", f"session={COOKIE}; Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Recorded:
    served: Served  # the read-only server, over HTTP
    site: RecordingSite
    with_evidence: str  # a run that kept evidence of every browser node
    without: str  # a run that kept none (the default: only on error)
    requests: int  # what the site had seen when both runs ended


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    db = tmp_path_factory.mktemp("readonly") / "weboter.db"
    env_file = db.parent / "env.json"
    env_file.write_text(json.dumps({"bank_key": SECRET}), encoding="utf-8")
    site = RecordingSite()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        page = f"{site.url}/account?key=$env{{bank_key}}"
        opening = flow(
            node("open", "OpenPage", inputs={"url": page}, params={"next_node": "__end__"})
        )
        runs = [_ran(db, opening, evidence) for evidence in ("every_node", "on_error")]
        assert site.seen() and all(SECRET in path for path in site.seen() if "account" in path)
        # a read-only server as one would run it for a model: it can read the same secrets
        with mcp_http(db, "--profile", "read-only", "--env-file", str(env_file)) as served:
            yield Recorded(served, site, runs[0], runs[1], len(site.seen()))
    finally:
        site.shutdown()
        site.server_close()


def _ran(db: Path, workflow: dict[str, Any], evidence: str) -> str:
    """A run of `workflow` by an operator server, ended (its browser closed) on return."""
    env = EnvSource({"bank_key": SECRET}, use_os=False)
    settings = Settings(db_path=db, evidence=evidence)  # type: ignore[arg-type]
    server, engines = build_server(db, settings=settings, env=env)

    async def main() -> str:
        async with Client(server) as client:
            run = await call(client, "run_workflow", workflow=workflow)
            assert run["status"] == "COMPLETED", run
            return str(run["run_id"])

    try:
        return asyncio.run(main())
    finally:
        engines.stop()


def test_a_read_only_page_snapshot_loads_nothing_and_shows_the_evidence(
    recorded: Recorded,
) -> None:
    async def main() -> tuple[Any, Any]:
        async with client_of(recorded.served.url, recorded.served.token()) as client:
            asked = {"run_id": recorded.with_evidence, "screenshot": True}
            kept = await client.call_tool("page_snapshot", asked)
            none = await client.call_tool("page_snapshot", {"run_id": recorded.without})
            return kept, none

    kept, none = asyncio.run(main())
    # the attack: putting the page back re-sends the recorded GET, the secret resolved again
    assert len(recorded.site.seen()) == recorded.requests, recorded.site.seen()
    assert not kept.is_error, kept.content
    view = kept.structured_content
    assert view["source"] == "recorded" and view["node_id"] == "open"
    assert view["url"].endswith("/account?key=$env{bank_key}")  # the reference, not the value
    assert view["title"] == "Account overview" and "Balance: 42 coins" in view["aria"]
    images = [c for c in kept.content if c.type == "image"]
    assert images and base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing was recorded but the URL: said so, and still nothing loaded
    assert not none.is_error, none.content
    bare = none.structured_content
    assert bare["source"] == "recorded" and bare["screenshot"] == "" and bare["aria"] == ""
    assert "Nothing of this page was recorded" in bare["note"] and "every_node" in bare["note"]
    assert bare["url"].endswith("$env{bank_key}")
    assert not [c for c in none.content if c.type == "image"]
    for answer in (kept, none):
        text = json.dumps(answer.structured_content) + answer.content[0].text
        assert SECRET not in text and COOKIE not in text


def test_a_browsers_stored_cookies_are_never_served(recorded: Recorded) -> None:
    async def main() -> None:
        async with client_of(recorded.served.url, recorded.served.token()) as client:
            events = await call(client, "get_events", run_id=recorded.with_evidence)
            done = next(e["event"] for e in events["events"] if e["type"] == "NodeCompleted")
            stored = {done["evidence"]["storage"], done["browser"]["storage"]}
            for name in stored:  # the evidence's storage state and the page snapshot
                with pytest.raises(Exception, match="stored state") as refused:
                    await client.read_resource(f"weboter://artifacts/{name}")
                assert COOKIE not in str(refused.value)
            shot = await client.read_resource(
                f"weboter://artifacts/{done['evidence']['screenshot']}"
            )
            assert base64.b64decode(shot.contents[0].blob)[:4] == b"\x89PNG"  # type: ignore[union-attr]
            assert shot.contents[0].mime_type == "image/png"  # a host shows it as an image
            dom = await client.read_resource(f"weboter://artifacts/{done['evidence']['dom']}")
            assert dom.contents[0].mime_type == "text/html"

    asyncio.run(main())
    assert len(recorded.site.seen()) == recorded.requests
