"""Two engines (`weboter serve --workers --db postgresql://…`, as on two hosts: each its own
home and host name) share one log, each with a worker. The engine driving a browser run is
killed (SIGKILL) in the middle of a node: the other takes the run over within 10 s (its lease
ran out) and completes it on its worker, with the result of an undisturbed run (the session's
recorded demo, tests/conftest.py) and each node completed once. And a client of either engine
hears every run's events."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import Recorded, postgres_database, wait_for
from tests.incli import environment
from tests.workers.conftest import GatedShop, Served
from tests.workers.test_failover import run_on
from weboter.runtime.demo.shop import PASSWORD, USER
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.location import log_location
from weboter.schemas.events import EventRecord, NodeCompleted, RunCompleted

pytestmark = pytest.mark.timeout(300)


def on_host(name: str, home: Path, url: str) -> Served:
    """`weboter serve --workers` of a host called `name`, on the shared log `url`."""
    home.mkdir()
    with environment({"WEBOTER_HOST": name}):
        return Served(home, "--db", url)


def events(log_path: Path, run_id: str) -> list[EventRecord]:
    log = EventLog(log_path, create=False)
    try:
        return [to_record(row) for row in log.read_stored(run_id)]
    finally:
        log.close()


def newest_run(log_path: Path) -> str:
    log = EventLog(log_path, create=False)
    try:
        return log.runs(limit=1)[0].run_id
    finally:
        log.close()


def test_a_killed_engines_browser_run_is_taken_over_by_the_other(
    tmp_path: Path, shop: GatedShop, recorded_demo: Recorded
) -> None:
    url = postgres_database()
    shared = log_location(url, home=tmp_path)
    first, second = on_host("host-a", tmp_path / "a", url), on_host("host-b", tmp_path / "b", url)
    try:
        workspace = tmp_path / "shared-workspace"  # both workers' files land in one place here
        secrets = tmp_path / "shop-env.json"  # what a node reads of $env: at every worker
        secrets.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
        for engine, name in ((first, "worker-a"), (second, "worker-b")):
            engine.worker("--workspace", str(workspace), "--name", name, "--env-file", str(secrets))
        shop.held = "/product/5"  # the next run waits there: its engine dies meanwhile
        client = run_on(first, shop, "killed.csv")
        assert shop.arrived.wait(120), "the run never reached product 5"
        run_id = newest_run(shared)
        killed_at = time.monotonic()
        first.proc.kill()  # SIGKILL: no goodbye, no pause recorded, its lease not renewed
        second.wait_logged(f"run {run_id} taken over", timeout=30)
        assert time.monotonic() - killed_at < 10, "the run was taken over too late"
        shop.release.set()  # the dead engine's worker may answer now: nobody listens to it
        try:
            wait_for(
                lambda: any(isinstance(r.event, RunCompleted) for r in events(shared, run_id)),
                f"run {run_id} completed by the other engine",
                120,
            )
        except AssertionError:  # where it stands, and what the engine said
            said = [
                f"{r.seq} {r.type} {getattr(r.event, 'node_id', '')}"
                for r in events(shared, run_id)
            ]
            raise AssertionError(f"{said[-15:]}\n{''.join(second.logged[-20:])}") from None
        client.kill()  # it followed the dead engine
        client.communicate(timeout=20)

        assert (workspace / "killed.csv").read_text() == recorded_demo.csv
        done = [
            r.event.node_id for r in events(shared, run_id) if isinstance(r.event, NodeCompleted)
        ]
        assert tuple(done) == recorded_demo.completed  # every node completed once, as undisturbed
    finally:
        second.stop()
        first.stop()
