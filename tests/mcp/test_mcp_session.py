"""An agent's session on the demo shop through the MCP SDK's client: it logs in (the password
as `$env{…}`), pages through the products and extracts them, saves them as CSV, and exports
the session — which `weboter run` repeats with no model, writing the same CSV. The password is
in neither the log nor the export; the export holds locators, never a snapshot's refs. Over
Streamable HTTP the agent logs in with the password typed in clear, and the export and the log
hold it as `$env{…}` all the same."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.incli import cli
from tests.mcp.served import client_of, command, mcp_http
from tests.mcp.test_mcp import call
from weboter.runtime.demo.shop import PASSWORD, PRODUCTS, USER, ShopServer

pytestmark = pytest.mark.timeout(180)


def ref_of(snapshot: str, role: str, name: str | None = None) -> str:
    """The ref of the first element of `role` (named `name`) in an agent's snapshot."""
    named = rf' "{re.escape(name)}"' if name is not None else ""
    found = re.search(rf"- {role}{named}[^\n]*?\[ref=(\w+)\]", snapshot)
    assert found, f"no {role} {name!r} in:\n{snapshot}"
    return found.group(1)


async def look(client: Client) -> str:
    return str((await call(client, "browser_snapshot"))["snapshot"])


async def acted(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    done = await call(client, tool, **arguments)
    assert done["status"] == "PAUSED", (tool, done)
    return done


async def agent(client: Client, shop_url: str, *, fork: bool) -> dict[str, Any]:
    """What an agent does, step by step, reading each page before it acts: it logs in, then
    (`fork`) walks the products, saves them and forks the session at its third act and goes
    on there; without `fork` (over HTTP, the password typed in clear) it exports the session
    once logged in (the acts after the log-in are the same tools whatever the transport)."""
    await call(client, "session_start", name="shop products", variables={"base_url": shop_url})
    await acted(client, "browser_navigate", url=f"{shop_url}/login")
    page = await look(client)
    unnamed = await client.call_tool("browser_click", {"element": "Log in"})  # no ref
    assert unnamed.is_error and "browser_snapshot" in unnamed.content[0].text  # type: ignore[union-attr]
    user = ref_of(page, "textbox", "Username")
    await acted(client, "browser_type", element="Username", ref=user, text="$env{shop.user}")
    secret = ref_of(page, "textbox", "Password")
    # as a reference, or (over HTTP) in clear: one of the server's values is recorded as one
    typed = PASSWORD if not fork else "$env{shop.password}"
    await acted(client, "browser_type", element="Password", target=secret, text=typed)
    signed_in = await acted(
        client, "browser_click", element="Log in", ref=ref_of(page, "button", "Log in")
    )
    assert signed_in["locator"] == {
        "element": "button",
        "type": "role",
        "ext": {"name": "Log in", "exact": True},
    }
    if not fork:
        exported = await call(client, "session_export", format="yaml")
        assert (await call(client, "session_end"))["status"] == "COMPLETED"
        return {"run_id": signed_in["run_id"], "workflow": exported["workflow"]}
    missed = await call(client, "browser_wait_for", text="No such words", time=0.5)
    assert missed["status"] == "ERROR"  # a failed act: the next one goes on from the last good
    for _ in range(3):  # the three pages of products
        page = await look(client)
        products = ref_of(page, "list")
        await acted(
            client, "browser_extract", name="products", element="products", ref=products, list=True
        )
        if '"Next"' in page:
            await acted(client, "browser_click", element="Next", ref=ref_of(page, "link", "Next"))
    # a look at one product in a tab of its own, then back to the list's tab
    await acted(client, "browser_tabs", action="new", url=f"{shop_url}/product/1")
    page = await look(client)
    assert PRODUCTS[0].name in page
    tabs = (await call(client, "browser_tabs", action="list"))["tabs"]
    assert [(t["index"], t["current"]) for t in tabs] == [(0, False), (1, True)]
    assert tabs[1]["url"].endswith("/product/1") and "products" in tabs[0]["url"]
    # an act that keeps the URL: what it brought up is its post-condition
    await acted(
        client, "browser_click", element="Shipping", ref=ref_of(page, "generic", "Shipping")
    )
    await acted(client, "browser_tabs", action="close")
    saved = await acted(client, "session_save", variable="products", path="products.csv")
    exported = await call(client, "session_export", format="yaml")
    ended = await call(client, "session_end")
    assert ended["status"] == "COMPLETED"
    await forked_at_the_third_act(client, saved["run_id"])
    return {"run_id": saved["run_id"], "workflow": exported["workflow"]}


async def forked_at_the_third_act(client: Client, run_id: str) -> None:
    """A fork right after the third act (the password typed, not yet sent) goes on: the
    agent's next look there puts the browser back as it was, fields filled (the password
    from `$env`), and its next act signs in."""
    events = (await call(client, "get_events", run_id=run_id, limit=200))["events"]
    third = [e for e in events if e["type"] == "NodeCompleted"][2]
    assert "password" in json.dumps(third)
    child = await call(client, "fork_run", run_id=run_id, at_seq=third["seq"], start="paused")
    went_on = await call(client, "session_start", run_id=child["run_id"])
    assert went_on["run_id"] == child["run_id"]
    page = await look(client)
    await acted(client, "browser_click", element="Log in", ref=ref_of(page, "button", "Log in"))
    assert "Page 1 of 3" in await look(client)  # signed in with what the fork put back
    await call(client, "browser_wait_for", text="No such words", time=0.5)  # fails: ERROR
    ended = await call(client, "session_end")  # the failed act is not run again
    assert ended["status"] == "COMPLETED", ended
    after = await call(client, "session_export")  # still there once the session ended
    assert "click_log_in" in after["workflow"] and "No such words" not in after["workflow"]


@contextlib.asynccontextmanager
async def connected(transport: str, db_path: Path, env_file: Path) -> AsyncIterator[Client]:
    """The SDK's client on `weboter mcp` (a real process) over stdio or Streamable HTTP."""
    more = ("--env-file", str(env_file))
    if transport == "stdio":
        cmd = command(db_path, *more)
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
        async with Client(params) as client:
            yield client
        return
    with mcp_http(db_path, *more) as served:
        async with client_of(served.url, served.token()) as client:
            yield client


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_an_agent_session_is_exported_and_replayed_without_a_model(
    tmp_path: Path, transport: str
) -> None:
    db_path = tmp_path / "agent" / "weboter.db"
    db_path.parent.mkdir()
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    with ShopServer() as shop:

        async def main() -> dict[str, Any]:
            async with connected(transport, db_path, env_file) as client:
                # what does not depend on the transport (the products, the fork, the replays):
                # once, over stdio; over HTTP the log-in, the password typed in clear
                return await agent(client, shop.url, fork=transport == "stdio")

        session = asyncio.run(main())
        exported = session["workflow"]
        assert "$env{shop.password}" in exported and PASSWORD not in exported
        assert "ref=" not in exported and "[ref" not in exported
        assert "$global{base_url}/login" in exported  # runs against another host too
        # where the page went after an act is its post-condition, checked by a replay
        assert "expect_url: $global{base_url}/products?page=1" in exported
        assert PASSWORD.encode() not in db_path.read_bytes()

        again = tmp_path / "again.yaml"  # `weboter export` says the same of the run
        wrote = cli("export", session["run_id"][:8], "-o", str(again), home=db_path.parent)
        assert wrote.returncode == 0, wrote.stderr
        assert again.read_text() == exported
        if transport != "stdio":
            return  # the rest of the session, and its replays, do not depend on the transport

        made = db_path.parent / "workspace" / "products.csv"
        rows = made.read_text().splitlines()
        assert len(rows) == 1 + len(PRODUCTS) and PRODUCTS[-1].name in rows[-1]
        assert "expect_visible:\n      element: Ships in 2 days" in exported, exported

        replay = tmp_path / "replay"
        replay.mkdir()
        (replay / "session.yaml").write_text(exported)
        ran = cli(
            "run",
            str(replay / "session.yaml"),
            "--json",
            "--var",
            f"base_url={shop.url}",
            "--env-file",
            str(env_file),
            home=replay,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert json.loads(ran.stdout)["status"] == "COMPLETED"
        assert (replay / "workspace" / "products.csv").read_text() == made.read_text()
    # the shop redesigned (ids, classes and names renamed; labels and texts kept): the
    # export's locators (role and name, label) still find every element
    (replay / "workspace" / "products.csv").unlink()
    with ShopServer(variant="renamed") as renamed:
        again_ran = cli(
            "run",
            str(replay / "session.yaml"),
            "--json",
            "--var",
            f"base_url={renamed.url}",
            "--env-file",
            str(env_file),
            "--on-error",
            "heal",
            home=replay,
        )
    assert again_ran.returncode == 0, again_ran.stdout + again_ran.stderr
    assert (replay / "workspace" / "products.csv").read_text() == made.read_text()
