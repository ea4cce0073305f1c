"""Runs with a browser: isolation of parallel runs, evidence, the demo, no Chromium left over,
a missing browser, and the example workflows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, chain, chromium_processes, on_playground
from tests.conftest import flow, node
from tests.demo_site import serve_demo
from tests.incli import cli
from weboter.runtime.demo.shop import PRODUCTS
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).parent.parent.parent


def login_then_read(shop_url: str, log_in: bool) -> dict[str, Any]:
    """Open the shop (logging in or not), wait a moment, then visit a page behind the login."""
    steps = [node("open", "OpenPage", inputs={"url": f"{shop_url}/login"})]
    if log_in:
        steps += [
            node("user", "FillInput", inputs={"locator": "#username", "text": "demo"}),
            node("pass", "FillInput", inputs={"locator": "#password", "text": "demo-pass-123"}),
            node("submit", "ClickItem", inputs={"locator": "#submit"}),
        ]
    steps += [
        node("nap", "SleepFor", inputs={"duration": 1.0}),
        node("visit", "OpenPage", inputs={"url": f"{shop_url}/products?page=2"}),
        node(
            "where",
            "EvaluateJS",
            inputs={"script": "location.pathname"},
            outputs=[{"src": "result", "name": "path", "pos": "global"}],
        ),
    ]
    return chain(*steps)


def test_parallel_runs_do_not_share_cookies(browser: BrowserRunner, shop: Any) -> None:
    logged_in = browser.start(login_then_read(shop.url, log_in=True))
    stranger = browser.start(login_then_read(shop.url, log_in=False))
    a, b = browser.outcome(logged_in), browser.outcome(stranger)
    assert a.ended.status == "COMPLETED", a.state.error
    assert b.ended.status == "COMPLETED", b.state.error
    assert a.state.globals["path"] == "/products"
    assert b.state.globals["path"] == "/login"  # no session cookie in the other run's context


def test_evidence_every_node_and_fingerprints(tmp_path: Path, pages_url: str) -> None:
    runner = BrowserRunner(tmp_path / "w.db", evidence="every_node")
    try:
        outcome = runner.run(
            on_playground(pages_url, node("click", "ClickItem", inputs={"locator": "#title"}))
        )
    finally:
        runner.close()
    assert outcome.ended.status == "COMPLETED"
    store = ArtifactStore.beside(tmp_path / "w.db")
    for record in outcome.events:
        if isinstance(record.event, NodeCompleted):
            evidence = record.event.evidence
            assert evidence["url"].endswith("/playground.html")
            assert store.path(evidence["screenshot"]).exists()
            assert json.loads(store.get(evidence["storage"]))["cookies"] == []
    click = next(
        r.event
        for r in outcome.events
        if isinstance(r.event, NodeCompleted) and r.event.node_id == "click"
    )
    assert click.elements[0]["id"] == "title"
    assert click.elements[0]["box"]["width"] > 0


def test_secret_typed_into_a_page_is_not_in_the_log_or_artifacts(tmp_path: Path, shop: Any) -> None:
    runner = BrowserRunner(tmp_path / "s.db", evidence="every_node")
    try:
        outcome = runner.run(
            chain(
                node("open", "OpenPage", inputs={"url": f"{shop.url}/login"}),
                node(
                    "pass",
                    "FillInput",
                    inputs={"locator": "#password", "text": "$env{shop.password}"},
                ),
                node(
                    "echo",
                    "EvaluateJS",
                    inputs={"script": "document.querySelector('#password').value"},
                    outputs=[{"src": "result", "name": "typed", "pos": "global"}],
                ),
            )
        )
    finally:
        runner.close()
    assert outcome.ended.status == "COMPLETED"
    secret = b"demo-pass-123"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files)
    for path in files:
        assert secret not in path.read_bytes(), path


def test_demo_writes_every_product_once(tmp_path: Path) -> None:
    """`weboter demo` as a person runs it (no screenshots: the evidence is not what is looked
    at here): its summary, its progress and the CSV. (Its --json prints the same summary as
    JSON, through the output every command shares: tests/test_cli.py checks that of `run`.)"""
    out = tmp_path / "p.csv"
    result = cli("demo", "--out", str(out), "--evidence", "none", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert " COMPLETED in " in result.stdout
    assert f": {len(PRODUCTS)} products written to {out}" in result.stdout
    assert f"{len(PRODUCTS)}/{len(PRODUCTS)} products" in result.stderr
    assert "weboter history" in result.stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["name"] for r in rows) == sorted(p.name for p in PRODUCTS)
    assert {r["name"]: r["stock"] for r in rows}["Stoneware Mug"] == "0"


def test_missing_browser_is_one_clear_error(tmp_path: Path) -> None:
    wf = tmp_path / "b.json"
    wf.write_text(json.dumps(flow(node("o", "OpenPage", "EndFlow", inputs={"url": "about:blank"}))))
    result = cli("run", str(wf), home=tmp_path, env={"WEBOTER_BROWSER": "/nonexistent/chrome"})
    assert result.returncode == 1
    assert "WEBOTER_BROWSER names /nonexistent/chrome" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    doctor = cli("doctor", "--json", home=tmp_path, env={"WEBOTER_BROWSER": "/nonexistent/x"})
    assert doctor.returncode == 1
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["browser"]["ok"] is False


@pytest.fixture(scope="module")
def demo_site() -> Iterator[str]:
    """`weboter demo --serve --port 0` in its own process: the URL it printed, while it runs."""
    site = serve_demo("--port", "0", "--json")
    try:
        yield json.loads(site.said)["url"]
    finally:
        assert site.stop() == 0, site.errors()


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.*")))
def test_examples_run(example: str, tmp_path: Path, demo_site: str) -> None:
    """Every example, the browser ones against the site `weboter demo --serve` serves."""
    result = cli(
        "run",
        str(ROOT / "examples" / example),
        "--json",
        "--var",
        f"shop_url={demo_site}",
        "--var",
        f"pages_url={demo_site}/pages",
        "--var",
        "out=out.csv",  # relative: in the workspace beside the log
        "--var",
        "target=3",
        home=tmp_path,
        env={"SHOP_USER": "demo", "SHOP_PASSWORD": "demo-pass-123"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "COMPLETED"


def test_no_chromium_outlives_the_engine(tmp_path: Path, pages_url: str) -> None:
    before = chromium_processes()
    runner = BrowserRunner(tmp_path / "c.db")
    outcome = runner.run(
        flow(node("o", "OpenPage", "EndFlow", inputs={"url": f"{pages_url}/playground.html"}))
    )
    assert outcome.ended.status == "COMPLETED"
    assert chromium_processes() > before
    runner.close()
    assert chromium_processes() == before


def test_crashed_page_is_a_node_error_not_a_hang(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        flow(
            node(
                "open",
                "OpenPage",
                inputs={"url": f"{pages_url}/playground.html"},
                params={"next_node": "crash"},
            ),
            node(
                "crash",
                "OpenPage",
                inputs={"url": "chrome://crash", "timeout": 5000},
                params={"next_node": "read"},
            ),
            node("read", "ExtractData", "EndFlow", inputs={"locator": "#title", "timeout": 2000}),
        )
    )
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert outcome.state.error.node_id in ("crash", "read")


def test_cli_runs_files_in_parallel(tmp_path: Path, pages_url: str) -> None:
    read = node(
        "read",
        "ExtractData",
        inputs={"locator": "#title"},
        outputs=[{"src": "data", "name": "title", "pos": "global"}],
    )
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(on_playground(pages_url, read)))
    result = cli(
        "run",
        str(tmp_path / "a.json"),
        str(tmp_path / "b.json"),
        "--parallel",
        "2",
        "--json",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summaries = json.loads(result.stdout)
    assert [s["status"] for s in summaries] == ["COMPLETED", "COMPLETED"]
    assert {s["variables"]["title"] for s in summaries} == {"Playground"}
