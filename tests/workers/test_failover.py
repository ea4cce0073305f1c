"""A worker killed (SIGKILL) in the middle of a browser node: the run completes on another
worker with the same result as an undisturbed run (the session's recorded demo, tests/
conftest.py: the same workflow against the same shop; a worker's undisturbed demo run is the
healing test's first run here); only the node in flight runs twice, the log says it was
re-queued, and the browser came back from the log. And a worker, which has no log, heals a
locator from the runs the engine's log recorded."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Recorded, demo_workflow
from tests.workers.conftest import GatedShop, Served
from weboter.runtime.demo.shop import PASSWORD, USER
from weboter.schemas.events import BrowserRestored, NodeCompleted, NodeRequeued

# each test waits for a worker to be found silent (killed, frozen): beats every 1.5 s
pytestmark = [pytest.mark.timeout(240), pytest.mark.usefixtures("quick_heartbeat")]

WORKFLOW = Path(__file__).parents[2] / "runtime" / "demo" / "shop_workflow.yaml"


def run_on(
    served: Served, shop: GatedShop, out: str, *more: str, workflow: Path = WORKFLOW
) -> subprocess.Popen[str]:
    """`weboter run` of the demo shop on the served engine (its workers), writing `out`."""
    env_file = served.home / "shop-env.json"
    env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
    variables = ["--var", f"base_url={shop.url}", "--var", f"out={out}", "--var", "rows=[]"]
    where = ["--json", "--engine", served.bind, "--env-file", str(env_file)]
    command = [sys.executable, "-m", "weboter.runtime.cli.main", "run", str(workflow)]
    return subprocess.Popen(
        [*command, *where, *variables, *more],
        env={**os.environ, "WEBOTER_HOME": str(served.home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, (
        f"weboter run exited {proc.returncode}: {out[-2000:]} {err[-2000:]}"
    )
    summary: dict[str, object] = json.loads(out)
    return summary


def product_hits(shop: GatedShop, since: int) -> collections.Counter[str]:
    return collections.Counter(r for r in shop.requests[since:] if r.startswith("GET /product/"))


def test_a_run_whose_worker_is_killed_mid_node_completes_on_another(
    served: Served, shop: GatedShop, recorded_demo: Recorded
) -> None:
    workspace = served.home / "shared-workspace"  # both workers' files land in one place here
    first = served.worker("--workspace", str(workspace), "--name", "first")

    # the demo, its worker killed while Chromium waits for product 5's page
    shop.held = "/product/5"
    since = len(shop.requests)
    proc = run_on(served, shop, "killed.csv")
    assert shop.arrived.wait(120), "the run never reached product 5"
    served.worker("--workspace", str(workspace), "--name", "second")
    first.proc.kill()  # SIGKILL, the worker process alone: its Chromium must follow it
    assert first.gone(60), f"processes of the killed worker left: {first.processes()}"
    killed = finished(proc)

    assert killed["status"] == "COMPLETED"
    assert (workspace / "killed.csv").read_text() == recorded_demo.csv
    killed_run = str(killed["run_id"])
    done = [
        r.event.node_id for r in served.events(killed_run) if isinstance(r.event, NodeCompleted)
    ]
    assert tuple(done) == recorded_demo.completed  # every node completed once, as undisturbed
    # product 5's page was asked for when the worker died (held, never answered), then once
    # more by the other worker; every other product page once: only the node in flight ran
    # twice
    hits = product_hits(shop, since)
    assert shop.arrived.is_set() and len(hits) == 11 and set(hits.values()) == {1}

    events = [r.event for r in served.events(killed_run)]
    requeued = [e for e in events if isinstance(e, NodeRequeued)]
    assert [(e.node_id, e.worker) for e in requeued] == [("product", "first")]
    assert "heartbeat" in requeued[0].reason
    after = events[events.index(requeued[0]) :]
    restored = [e for e in after if isinstance(e, BrowserRestored)]
    assert restored and restored[0].node_id == "product" and restored[0].differences == []


def test_a_worker_heals_a_locator_from_the_engines_history(served: Served, shop: GatedShop) -> None:
    workspace = served.home / "workspace"
    served.worker("--workspace", str(workspace))
    before = finished(run_on(served, shop, "before.csv"))
    assert before["status"] == "COMPLETED"
    shop.variant = "renamed"  # the shop's redesign: the recorded locators find nothing
    quick = demo_workflow(served.home)  # its locators give up after 1 s: healing starts sooner
    after = finished(run_on(served, shop, "after.csv", "--on-error", "heal", workflow=quick))
    assert after["status"] == "COMPLETED"
    assert (workspace / "after.csv").read_text() == (workspace / "before.csv").read_text()
    assert {r["source"] for r in after["repairs"]} == {"healer"}  # type: ignore[union-attr]


def test_a_worker_presumed_lost_comes_back_without_its_late_result(
    served: Served, shop: GatedShop
) -> None:
    workspace = served.home / "workspace"
    frozen = served.worker("--workspace", str(workspace), "--name", "frozen")
    shop.held = "/product/5"
    proc = run_on(served, shop, "out.csv")
    assert shop.arrived.wait(120), "the run never reached product 5"
    served.worker("--workspace", str(workspace), "--name", "thawed")
    frozen.send(signal.SIGSTOP)  # the worker and its Chromium freeze: no heartbeat, no result
    try:
        summary = finished(proc)  # the other worker finished the run
        served.wait_logged("worker frozen lost", "no heartbeat")
    finally:
        shop.release.set()  # the frozen worker's page gets its answer ...
        frozen.send(signal.SIGCONT)  # ... and it wakes up, its node still in flight
    assert summary["status"] == "COMPLETED"
    # the engine tells it it is not known any more (or it finds the engine silent for too
    # long): it gives its runs up (the node in flight cancelled, its result void, or refused
    # if already sent) and says READY again on a new connection
    frozen.wait_logged("starting over", "reconnecting")
    events = served.events(str(summary["run_id"]))
    products = [
        r for r in events if isinstance(r.event, NodeCompleted) and r.event.node_id == "product"
    ]
    assert len(products) == 11  # no late result recorded
    assert sum(isinstance(r.event, NodeRequeued) for r in events) == 1
