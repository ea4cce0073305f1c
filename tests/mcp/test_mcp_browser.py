"""The MCP server on the demo shop: a run paused in a real Chromium, its page as text and as
an image."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.ai.model_server import ModelServer, Reply
from tests.mcp.test_mcp import call
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer
from weboter.runtime.engine.settings import Settings
from weboter.runtime.mcp import build_server

pytestmark = pytest.mark.timeout(180)


def test_a_paused_runs_page_as_text_and_image(db_path: Path) -> None:
    env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
    server, engines = build_server(db_path, settings=Settings(db_path=db_path), env=env)

    async def session(client: Client, shop_url: str) -> None:
        variables: dict[str, Any] = {"base_url": shop_url, "out": "out.csv", "rows": []}
        run = await call(
            client,
            "run_workflow",
            workflow=WORKFLOW.read_text(encoding="utf-8"),
            variables=variables,
            breakpoints=["links"],
        )
        assert run["status"] == "PAUSED" and run["current_node"] == "links"
        bare = await client.call_tool("page_snapshot", {"run_id": run["run_id"]})
        assert not [c for c in bare.content if c.type == "image"]  # no image unless asked
        asked = {"run_id": run["run_id"], "screenshot": True}
        result = await client.call_tool("page_snapshot", asked)
        assert not result.is_error, result.content
        view = result.structured_content
        assert view is not None and "/products" in view["url"]
        assert PRODUCTS[0].name in view["aria"]
        assert PASSWORD not in view["aria"]
        images = [c for c in result.content if c.type == "image"]
        assert images and base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[union-attr]
        # a slice of the text: the model pages on through a big page
        part = await call(client, "page_snapshot", run_id=run["run_id"], offset=10, limit=20)
        assert part["aria"] == view["aria"][10:30] and part["aria_total"] == view["aria_total"]

    try:
        with ShopServer() as shop:

            async def main() -> None:
                async with Client(server) as client:
                    await session(client, shop.url)

            asyncio.run(main())
    finally:
        engines.stop()


def test_the_model_sees_the_page_of_a_run_in_error_never_a_secret(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
    fix = json.dumps({"kind": "skip", "reason": "the list is optional", "confidence": 0.3})
    with ModelServer([Reply(fix)]) as model:
        for key, value in model.env().items():
            monkeypatch.setenv(key, value)
        server, engines = build_server(db_path, settings=Settings(db_path=db_path), env=env)

        async def session(client: Client, shop_url: str) -> None:
            broken = WORKFLOW.read_text(encoding="utf-8").replace(  # found out after 1 s, not 5
                "locator: {element: li.product, type: css}\n",
                "locator: {element: li.gone, type: css}\n      timeout: 1000\n",
            )
            assert "li.gone" in broken
            variables: dict[str, Any] = {"base_url": shop_url, "out": "out.csv", "rows": []}
            run = await call(
                client, "run_workflow", workflow=broken, variables=variables, on_error="pause"
            )
            assert run["status"] == "ERROR" and run["current_node"] == "links"
            found = await call(client, "suggest_repair", run_id=run["run_id"])
            assert found["action"]["kind"] == "skip" and found["applied"] is False

        try:
            with ShopServer() as shop:

                async def main() -> None:
                    async with Client(server) as client:
                        await session(client, shop.url)

                asyncio.run(main())
        finally:
            engines.stop()
    told = model.bodies[0]
    assert PRODUCTS[0].name in told  # the page's text went with the question
    assert PASSWORD not in told
