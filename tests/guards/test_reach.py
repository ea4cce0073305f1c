"""Where a run may reach. A workflow started through `weboter ui` or `weboter mcp` reads no
environment variable of the server (only what --env-file/--env-allow give) and no file
outside the workspace (`file://`); with `--allow-host` (or a workflow's `allow_hosts`) a run's
pages — their scripts, images and redirects included — and its HTTP actions reach only the
hosts allowed. Every refusal names the process and the flag that would widen it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.browser.conftest import chain
from tests.conftest import flow, node, wait_for, weboter
from tests.incli import cli
from tests.recording_server import RecordingServer
from tests.ui.conftest import get, launch, post, shutdown
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(180)

PROBE = "probe-value-7c1e"  # exported in the server's environment: a run must not read it
READ_ENV = chain(
    node("read", "SetData", inputs={"key": "$global{home}", "value": "$env{WEBOTER_PROBE}"})
)
READ_FILE = chain(node("read", "OpenPage", inputs={"url": "file:///etc/hostname"}))
# a node that fails, whose control would tell (by where a skip goes) what the variable holds
ORACLE = flow(
    node(
        "fail",
        "PyEvalAction",
        "IfElse",
        inputs={"expr": "1 / 0"},
        params={
            "var": "$env{WEBOTER_PROBE}",
            "value": PROBE,
            "then_node": "__end__",
            "else_node": "__end__",
        },
    )
)


def test_a_run_started_through_the_ui_reads_no_env_and_no_file(tmp_path: Path) -> None:
    ui = launch(tmp_path, env={"WEBOTER_PROBE": PROBE})
    try:
        errors = {}
        for name, workflow in (("env", READ_ENV), ("file", READ_FILE)):
            status, started = post(ui, "/api/runs", {"text": json.dumps(workflow), "paused": False})
            assert status == 200, started
            run = started["run_id"]

            def rested(run: str = run) -> dict[str, Any] | None:
                shown = get(ui, f"/api/runs/{run}")[1]
                return shown if shown["status"] in ("ERROR", "FAILED", "COMPLETED") else None

            errors[name] = wait_for(rested, f"run {run} to rest", timeout=60)["error"]
    finally:
        shutdown(ui)
    assert errors["env"]["message"].endswith("$env{WEBOTER_PROBE} is not set in `weboter ui`")
    assert (
        "WEBOTER_PROBE is exported, but `weboter ui` lets workflows read only"
        in (errors["env"]["hint"])
    )
    assert "--env-allow WEBOTER_PROBE" in errors["env"]["hint"]
    assert "file:///etc/hostname is out of this run's reach" in errors["file"]["message"]
    assert "--allow-path" in errors["file"]["hint"]
    shown = (tmp_path / "weboter.db").read_bytes()
    assert PROBE.encode() not in shown


def test_a_run_started_through_mcp_reads_no_env_and_no_file(tmp_path: Path) -> None:
    db = tmp_path / "weboter.db"
    command = [sys.executable, "-m", "weboter.runtime.cli.main", "mcp", "--db", str(db)]
    params = StdioServerParameters(
        command=command[0], args=command[1:], env={**os.environ, "WEBOTER_PROBE": PROBE}
    )

    async def runs() -> list[dict[str, Any]]:
        async with Client(params) as client:
            found = []
            for workflow in (READ_ENV, READ_FILE, ORACLE):
                result = await client.call_tool("run_workflow", {"workflow": workflow})
                assert not result.is_error, result.content
                found.append(result.structured_content or {})
            # a skip decides with the failed node's control: it too reads no environment
            skip = {"run_id": found[-1]["run_id"], "kind": "skip"}
            skipped = await client.call_tool("repair_run", skip)
            found.append({"error": skipped.is_error, "said": str(skipped.content)})
            return found

    env, file, oracle, skipped = asyncio.run(runs())
    assert oracle["status"] == "ERROR"
    assert skipped["error"] and "$env{WEBOTER_PROBE} is not set" in skipped["said"]
    assert env["status"] == "ERROR" and env["error"]["message"].endswith(
        "$env{WEBOTER_PROBE} is not set in `weboter mcp`"
    )
    assert "--env-allow WEBOTER_PROBE" in env["error"]["hint"]
    assert file["status"] == "ERROR"
    assert "file:///etc/hostname is out of this run's reach" in file["error"]["message"]


def test_env_allow_lets_the_named_variables_through(tmp_path: Path) -> None:
    ui = launch(tmp_path, "--env-allow", "WEBOTER_PR", env={"WEBOTER_PROBE": PROBE})
    try:
        status, started = post(ui, "/api/runs", {"text": json.dumps(READ_ENV), "paused": False})
        assert status == 200, started
        run = started["run_id"]
        wait_for(
            lambda: get(ui, f"/api/runs/{run}")[1]["status"] == "COMPLETED", "the run", timeout=60
        )
    finally:
        shutdown(ui)


def hostile(attacker: str) -> str:
    """A page whose script reaches for the attacker's host every way a page can."""
    return f"""<!doctype html><title>site</title><p id="done">no</p><script>
const tries = [
  fetch("{attacker}/fetch").catch(() => null),
  fetch("/fine").catch(() => null),
  new Promise((done) => {{ const i = new Image(); i.onload = i.onerror = done;
    i.src = "{attacker}/image"; }}),
  new Promise((done) => {{ const f = document.createElement("iframe"); f.onload = done;
    f.src = "{attacker}/frame"; document.body.append(f); }}),
];
Promise.all(tries).then(() => {{ document.getElementById("done").textContent = "tried"; }});
</script>"""


def test_allow_host_keeps_pages_and_http_actions_to_the_hosts_allowed(tmp_path: Path) -> None:
    with RecordingServer() as attacker, RecordingServer() as site:
        site.page = hostile(attacker.url)
        site.redirects = {"/go": f"{attacker.url}/redirected", "/hop": f"{site.url}/go"}
        allowed = site.url.removeprefix("http://")
        cases = {
            "page": chain(
                node("open", "OpenPage", inputs={"url": f"{site.url}/page"}),
                node("wait", "AssertText", inputs={"locator": "#done", "text": "tried"}),
            ),
            "open": chain(node("open", "OpenPage", inputs={"url": f"{attacker.url}/open"})),
            "redirect": chain(node("open", "OpenPage", inputs={"url": f"{site.url}/hop"})),
            "http": chain(node("get", "HttpGet", inputs={"url": f"{site.url}/go"})),
        }
        files = []
        for name, workflow in cases.items():
            files.append(tmp_path / f"{name}.json")
            files[-1].write_text(json.dumps(workflow))
        # one `weboter run` of every case (one engine, one Chromium), one after the other:
        # a summary each, in the order given
        ran = cli("run", *map(str, files), "--allow-host", allowed, "--json", home=tmp_path)
        ended = dict(zip(cases, json.loads(ran.stdout), strict=True))
    assert ended["page"]["status"] == "COMPLETED", ended["page"]
    assert attacker.paths == []  # nothing reached it: no fetch, image, frame, redirect, request
    assert "/fine" in site.paths  # ... while the allowed host was reached through the gate
    said = f"`weboter run`'s --allow-host: {allowed}"
    for name in ("open", "redirect", "http"):
        error = ended[name]["error"]
        assert ended[name]["status"] == "FAILED", ended[name]
        assert f"is not an allowed host ({said})" in error["message"], error
        assert "--allow-host" in error["hint"]


def test_a_workflow_s_allow_hosts_narrows_it_and_is_checked(tmp_path: Path) -> None:
    with RecordingServer() as attacker, RecordingServer("<p>ok</p>") as site:
        workflow = chain(
            node("open", "OpenPage", inputs={"url": f"{site.url}/"}),
            node("get", "HttpGet", inputs={"url": f"{attacker.url}/x"}),
        )
        workflow["allow_hosts"] = [site.url.removeprefix("http://")]
        path = tmp_path / "narrow.json"
        path.write_text(json.dumps(workflow))
        ran = json.loads(cli("run", str(path), "--json", home=tmp_path).stdout)
    assert ran["status"] == "FAILED" and "the workflow's allow_hosts" in ran["error"]["message"]
    assert attacker.paths == [] and site.paths == ["/"]
    workflow["allow_hosts"] = ["not a host!"]
    path.write_text(json.dumps(workflow))
    checked = cli("validate", str(path), home=tmp_path)
    assert checked.returncode == 2 and "allow_hosts[0]" in checked.stdout + checked.stderr


def test_a_look_at_the_page_holds_to_the_workflow_s_hosts(tmp_path: Path) -> None:
    """The page is put back for a look (MCP, the UI, a model) before any node of this process
    ran: its scripts reach only the workflow's allow_hosts there too, and the nodes after it
    do not inherit a browser made under no rule."""
    with RecordingServer() as attacker, RecordingServer() as site:
        site.page = f"<p>hi</p><script>fetch('{attacker.url}/leak').catch(() => null)</script>"
        workflow = chain(
            node("open", "OpenPage", inputs={"url": f"{site.url}/"}),
            node("again", "Reload"),
        )
        workflow["allow_hosts"] = [site.url.removeprefix("http://")]
        path = tmp_path / "look.json"
        path.write_text(json.dumps(workflow))
        paused = json.loads(
            weboter("run", str(path), "--break", "again", "--json", home=tmp_path).stdout
        )
        assert paused["status"] == "PAUSED", paused
        db = tmp_path / "weboter.db"
        with Engine(Settings(db_path=db)) as engine, engine.client() as client:
            log = EventLog(db)
            try:
                recorded = state_at(log, paused["run_id"]).browser
            finally:
                log.close()
            looked = client.look(paused["run_id"], recorded)
            assert looked.error is None and "hi" in looked.aria
            client.cont(paused["run_id"])
            assert client.wait(paused["run_id"], timeout=60).status == "COMPLETED"
        served = list(site.paths)
    assert attacker.paths == []
    assert served.count("/") >= 3  # the run's page, the look's, the reload's


def test_webrtc_goes_nowhere_around_the_gate(tmp_path: Path) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    stun = f"stun:127.0.0.1:{udp.getsockname()[1]}"
    page = f"""<p id="done">no</p><script>
const pc = new RTCPeerConnection({{iceServers: [{{urls: "{stun}"}}]}});
pc.createDataChannel("x");
pc.onicegatheringstatechange = () => {{
  if (pc.iceGatheringState === "complete") document.getElementById("done").textContent = "gathered";
}};
pc.createOffer().then((offer) => pc.setLocalDescription(offer));
</script>"""
    try:
        with RecordingServer(page) as site:
            path = tmp_path / "rtc.json"
            path.write_text(
                json.dumps(
                    chain(
                        node("open", "OpenPage", inputs={"url": f"{site.url}/"}),
                        node("wait", "AssertText", inputs={"locator": "#done", "text": "gathered"}),
                    )
                )
            )
            ran = json.loads(cli("run", str(path), "--json", home=tmp_path).stdout)
        assert ran["status"] == "COMPLETED", ran  # gathering ended, without a STUN exchange
        with pytest.raises(BlockingIOError):
            udp.recvfrom(2048)  # nothing ever reached the STUN server
    finally:
        udp.close()
