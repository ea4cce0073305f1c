"""A secret redacted where it stood encoded inside longer text (base64 at each alignment, JSON,
HTML) comes back as the very same text in a fork: the marker names the encoding (and, for
base64, the neighbours' bits), and the fork's node reads exactly what the parent's did."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(60)

SECRET = 'k3y "w\\x&<1>é/+~'  # 17 bytes: at every alignment a character is shared with text
TEXT = "pre $env{api.token} post"
EXPECTED = {
    "basic": base64.b64encode(f"user:{SECRET}".encode()).decode(),  # alignment 2
    "one": base64.b64encode(f"a{SECRET}!".encode()).decode(),  # alignment 1
    "zero": base64.b64encode(f"{SECRET} and more".encode()).decode(),  # alignment 0
    "json": json.dumps({"t": f"pre {SECRET} post"}, ensure_ascii=False),
    "ascii": json.dumps({"t": f"pre {SECRET} post"}, ensure_ascii=True),
    "html": html.escape(f"pre {SECRET} post", quote=False),
}


def _out(name: str, src: str) -> list[dict[str, str]]:
    return [{"src": src, "name": name, "pos": "global"}]


def _encode(name: str, text: str, next_node: str) -> dict:
    return node(
        name,
        "Base64Encode",
        inputs={"text": text},
        outputs=_out(name, "base64"),
        params={"next_node": next_node},
    )


WORKFLOW = flow(
    _encode("basic", "user:$env{api.token}", "one"),
    _encode("one", "a$env{api.token}!", "zero"),
    _encode("zero", "$env{api.token} and more", "json"),
    node(
        "json",
        "JsonStringify",
        inputs={"data": {"t": TEXT}},
        outputs=_out("json", "text"),
        params={"next_node": "ascii"},
    ),
    node(
        "ascii",
        "JsonStringify",
        inputs={"data": {"t": TEXT}, "ensure_ascii": True},
        outputs=_out("ascii", "text"),
        params={"next_node": "html"},
    ),
    node(
        "html",
        "PyEvalAction",
        inputs={
            "expr": "param1.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')",
            "param1": TEXT,
        },
        outputs=_out("html", "result"),
        params={"next_node": "check"},
    ),
    node(  # which values differ from what the test computed itself: none, in any run
        "check",
        "PyEvalAction",
        "EndFlow",
        inputs={
            "expr": "[k for k in param2 if param1[k] != param2[k]]",
            "param1": {k: f"$global{{{k}}}" for k in EXPECTED},
            "param2": "$global{expected}",
        },
        outputs=_out("wrong", "result"),
    ),
)


def test_a_fork_puts_back_a_secret_that_stood_encoded_inside_longer_text(db_path: Path) -> None:
    runner = Runner(db_path, env={"api": {"token": SECRET}})
    try:
        parent = runner.run(WORKFLOW, variables={"expected": EXPECTED})
        assert parent.ended.status == "COMPLETED", parent.state.error
        assert parent.state.globals["wrong"] == []
        stored = parent.state.globals  # as the log has them: markers where the secret stood
        assert "\x00$env{api.token}|b64_2_" in stored["basic"]
        assert "\x00$env{api.token}|b64_1_" in stored["one"]
        assert "\x00$env{api.token}|b64_0_" in stored["zero"]
        assert "\x00$env{api.token}|jsonu\x00" in stored["json"]
        assert "\x00$env{api.token}|json\x00" in stored["ascii"]
        assert "\x00$env{api.token}|htmltext\x00" in stored["html"]
        before_check = max(
            r.seq
            for r in parent.events
            if isinstance(r.event, NodeCompleted) and r.event.node_id == "html"
        )
        client = runner.client
        fork = client.fork(parent.run_id, before_check)
        assert client.wait(fork, timeout=20).status == "COMPLETED"
        log = EventLog(db_path)
        try:
            forked = state_at(log, fork)
        finally:
            log.close()
        assert forked.globals["wrong"] == []  # the fork read the same texts, secret and all
    finally:
        runner.close()
