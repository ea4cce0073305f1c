"""A secret inside longer text that is then encoded never reaches the log or the artifacts:
JSON (both ways JsonStringify writes it, and as other encoders do), HTML (text and attribute
forms, named and numeric references), percent-encoding (every variant a server or a browser
writes), base64 at each of the three alignments; and a secret with `&"<>` typed into a page
is found in no form in the page's DOM capture. A real run, a real Chromium, real HTTP servers
on loopback; the raw bytes of the SQLite files and of every artifact are searched."""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.browser.conftest import chain
from tests.conftest import node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings

pytestmark = pytest.mark.timeout(180)

SECRET = 'p@ss "w\\rd&<1>é/+~*'  # every encoder treats some of these differently
TEXT = "pre $env{bank.key} post"  # the secret inside longer text, then encoded


def _keeping(kept: str, *, plus: bool = False, lower: bool = False) -> Any:
    """Percent-encoding of all but letters, digits and `kept`, written out here on purpose
    (not the code under test): `plus` a space as +, `lower` lower-case hex."""

    def encode(text: str) -> str:
        out = []
        for ch in text:
            if ch.isascii() and (ch.isalnum() or ch in kept):
                out.append(ch)
            elif ch == " " and plus:
                out.append("+")
            else:
                hexed = "".join(f"%{b:02X}" for b in ch.encode())
                out.append(hexed.lower() if lower else hexed)
        return "".join(out)

    return encode


def _numeric(text: str) -> str:
    return "".join(ch if ch.isalnum() else f"&#{ord(ch)};" for ch in text)


def _hex_refs(text: str) -> str:
    return "".join(ch if ch.isalnum() else f"&#x{ord(ch):X};" for ch in text)


# each takes a text and writes it encoded: what a server, a browser or an action may record
ENCODERS: dict[str, Any] = {
    "percent, everything": lambda t: quote(t, safe=""),
    "percent, keeping /": quote,
    "percent, lower-case hex": _keeping("-_.~", lower=True),
    "form (+ for spaces)": quote_plus,
    "encodeURIComponent": _keeping("-_.!~*'()"),
    "encodeURI": _keeping("-_.!~*'();,/?:@&=+$#"),
    "URLSearchParams": _keeping("*-._", plus=True),
    "JSON, ASCII": json.dumps,
    "JSON, as it is": lambda t: json.dumps(t, ensure_ascii=False),
    "JSON, \\/ and upper-case \\u": lambda t: re.sub(
        r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), json.dumps(t)
    ).replace("/", "\\/"),
    "JSON, HTML-safe (\\u003c)": lambda t: (
        json.dumps(t).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    ),
    "HTML, all": lambda t: html.escape(t, quote=True),
    "HTML, text": lambda t: html.escape(t, quote=False),
    "HTML, attribute": lambda t: t.replace("&", "&amp;").replace('"', "&quot;"),
    "HTML, decimal": _numeric,
    "HTML, hex": _hex_refs,
}


def secret_forms() -> dict[str, bytes]:
    """Every way the secret's own characters may stand in what was recorded."""
    forms = {f"{name}: {SECRET!r}": encode(SECRET) for name, encode in ENCODERS.items()}
    forms = {k: v[1:-1] if k.startswith("JSON") else v for k, v in forms.items()}
    forms["clear"] = SECRET
    data = SECRET.encode()
    for before in range(3):  # the characters made of the secret's bits alone, per alignment
        for alphabet, encode in (("", base64.b64encode), ("url-safe ", base64.urlsafe_b64encode)):
            stream = encode(b"x" * before + data + b"yz").decode()
            start, end = 8 * before, 8 * (before + len(data))
            forms[f"base64 {alphabet}at {before}"] = stream[-(-start // 6) : end // 6]
    return {name: form.encode() for name, form in forms.items()}


class Echo(BaseHTTPRequestHandler):
    """POST `/keep` keeps the text sent; GET `/echo` answers it in every encoding, one a line
    (text/plain), GET `/page` a page that shows it encoded in its text and attributes."""

    kept = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        Echo.kept = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self._answer(b"kept", "text/plain")

    def do_GET(self) -> None:
        text = Echo.kept
        if self.path == "/echo":
            lines = [f"{name}: {encode(text)}" for name, encode in ENCODERS.items()]
            for before in ("", "x", "xy"):  # base64 of longer text, at each alignment
                lines.append(base64.b64encode((before + text).encode()).decode())
                lines.append(base64.urlsafe_b64encode((before + text).encode()).decode())
            self._answer("\n".join(lines).encode(), "text/plain; charset=utf-8")
            return
        shown = html.escape(text, quote=True)
        page = (
            f"<!doctype html><meta charset=utf-8><title>t</title><p id=text>{shown}</p>"
            f"<a id=link title='{shown}' href='/x?q={quote(text, safe='')}'>link</a>"
        )
        self._answer(page.encode(), "text/html; charset=utf-8")

    def _answer(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def to_global(src: str, name: str) -> list[dict[str, str]]:
    return [{"src": src, "name": name, "pos": "global"}]


def encoding_flow(echo: str, pages_url: str) -> dict:
    return chain(
        node("keep", "HttpPost", inputs={"url": f"{echo}/keep", "body": TEXT}),
        node(
            "fetch",
            "FetchUrl",
            inputs={"url": f"{echo}/echo"},
            outputs=[*to_global("content", "echoed"), *to_global("final_url", "url")],
        ),
        node("json", "JsonStringify", inputs={"data": TEXT}, outputs=to_global("text", "j1")),
        node(
            "json_ascii",
            "JsonStringify",
            inputs={"data": {"a": [TEXT]}, "ensure_ascii": True, "pretty": True},
            outputs=to_global("text", "j2"),
        ),
        node(
            "escape",
            "PyEvalAction",
            inputs={
                "expr": "param1.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')",
                "param1": TEXT,
            },
            outputs=to_global("result", "escaped"),
        ),
        *(
            node(
                f"b64_{i}",
                "Base64Encode",
                inputs={"text": before + TEXT},
                outputs=to_global("base64", f"b64_{i}"),
            )
            for i, before in enumerate(("", "a", "user:"))  # alignments 0, 1 and 2
        ),
        node("page", "OpenPage", inputs={"url": f"{echo}/page"}),
        node("playground", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
        node(  # the page echoes what is typed into a text node: `&amp;"&lt;&gt;` in the DOM
            "type",
            "FillInput",
            inputs={"locator": {"element": "#email", "type": "css"}, "text": "$env{bank.key}"},
        ),
        node(
            "read",
            "ExtractData",
            inputs={"locator": {"element": "#echo", "type": "css"}},
            outputs=to_global("data", "typed"),
        ),
    )


def test_a_secret_encoded_inside_longer_text_is_in_no_form_in_the_log_or_artifacts(
    tmp_path: Path, echo: str, pages_url: str
) -> None:
    db = tmp_path / "weboter.db"
    env = EnvSource({"bank": {"key": SECRET}}, use_os=False)
    engine = Engine(Settings(db_path=db, evidence="every_node"), env=env).start()
    try:
        with engine.client() as client:
            run_id = client.submit(to_workflow(encoding_flow(echo, pages_url), "t"))
            done = client.wait(run_id, timeout=120)
    finally:
        engine.stop()
    assert done.status == "COMPLETED", done.error

    stored = [p for p in tmp_path.iterdir() if p.name.startswith("weboter.db")]
    artifacts = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in artifacts)  # the DOM captures are there
    found = []
    for path in [*stored, *artifacts]:
        data = path.read_bytes()
        found += [(path.name, name) for name, form in secret_forms().items() if form in data]
    assert found == [], "\n".join(f"{where}: {form}" for where, form in found)
