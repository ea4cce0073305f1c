"""The non-browser catalog, action by action, against real files and a real HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.catalog import ActionContext
from weboter.runtime.errors import ActionError, ExpressionError

pytestmark = pytest.mark.timeout(30)


def call(name: str, **inputs: Any) -> dict[str, Any]:
    spec = default_catalog().action(name)
    ctx = ActionContext(run_id="r", node_id="n", flow_vars={}, globals={})
    merged = {**spec.defaults, **inputs}
    result = spec.fn(ctx, merged)
    if asyncio.iscoroutine(result):
        return asyncio.run(result)
    assert isinstance(result, dict)
    return result


def test_json_actions() -> None:
    assert call("JsonParse", text='{"a": [1, 2]}') == {"data": {"a": [1, 2]}}
    with pytest.raises(ActionError, match="not JSON"):
        call("JsonParse", text="{nope")
    assert call("JsonStringify", data={"é": 1}) == {"text": '{"é": 1}'}
    assert call("JsonStringify", data={"é": 1}, ensure_ascii=True) == {"text": '{"\\u00e9": 1}'}
    assert call("JsonGetPath", data={"a": [{"b": 5}]}, path="a[0].b") == {"value": 5, "found": True}
    assert call("JsonGetPath", data={}, path="a.b", default=7) == {"value": 7, "found": False}
    with pytest.raises(ActionError, match="not in the data"):
        call("JsonGetPath", data={}, path="a", strict=True)


def test_regex_base64_dict_list() -> None:
    found = call("RegexExtract", text="a1 b22 c333", pattern=r"(\w)(\d+)", group=2, all=True)
    assert found == {"value": "1", "values": ["1", "22", "333"], "matched": True}
    assert call("RegexExtract", text="ABC", pattern="b", flags="i")["value"] == "B"
    with pytest.raises(ActionError, match="not a valid regex"):
        call("RegexExtract", text="x", pattern="(")
    assert call("Base64Encode", text="hé") == {"base64": "aMOp"}
    assert call("Base64Decode", base64="aMOp") == {"text": "hé"}
    with pytest.raises(ActionError):
        call("Base64Decode", base64="***")
    assert call("DictMerge", items=[{"a": 1}, {"a": 2, "b": 3}]) == {"result": {"a": 2, "b": 3}}
    assert call("ListUnique", items=[1, {"a": 1}, 1, {"a": 1}, "1"]) == {
        "result": [1, {"a": 1}, "1"]
    }


def test_pyeval_is_safe() -> None:
    assert call("PyEvalAction", expr="param1 + 1", param1=41) == {"result": 42}
    assert call("PyEvalAction", expr="[x * 2 for x in param1]", param1=[1, 2]) == {"result": [2, 4]}
    for bad in (
        "__import__('os')",
        "().__class__.__mro__",
        "open('/etc/passwd')",
        "(lambda: 1)()",
        "exec('1')",
    ):
        with pytest.raises(ExpressionError):
            call("PyEvalAction", expr=bad)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/json")
            self.end_headers()
            return
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(201)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_url_follows_redirects(server: str) -> None:
    result = call("FetchUrl", url=f"{server}/redirect")
    assert result["status_code"] == 200
    assert result["final_url"].endswith("/json")
    assert json.loads(result["content"]) == {"path": "/json"}


def test_http_request_family(server: str) -> None:
    got = call("HttpGet", url=f"{server}/q", params={"a": "1"})
    assert got["ok"] is True
    assert got["json"] == {"path": "/q?a=1"}
    posted = call("HttpPost", url=f"{server}/p", json_body={"x": 1})
    assert posted["status_code"] == 201
    assert posted["json"] == {"x": 1}
    generic = call("HttpRequest", method="POST", url=f"{server}/p", body="raw")
    assert generic["body"] == "raw"


def test_http_failure_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="failed"):
        call("FetchUrl", url="http://127.0.0.1:9/", timeout=2)
