"""Shared fixtures: a fresh log path per test, an engine on it, and a helper that runs a
workflow (given as the dict a user would write) through the real actor path."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pykka
import pytest

from tests import pgcluster
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.shop import ShopServer
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.location import log_location
from weboter.runtime.store.postgres import close_pools
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.actor import stop_actor
from weboter.schemas.events import EventRecord, NodeCompleted
from weboter.schemas.messages import RunEnded
from weboter.schemas.state import RunState

_CHROMIUM_AT_START: list[int] = []
POSTGRES = "WEBOTER_TEST_POSTGRES"  # the URL of the tests' PostgreSQL server (tests/pgcluster.py)
NO_POSTGRES = "WEBOTER_TEST_NO_POSTGRES"  # why there is none: the PostgreSQL tests skip
# the folder where the session's server, being started, says how that went (its URL, or why
# there is none) once the lock file there is let go (_start_postgres)
POSTGRES_PENDING = "WEBOTER_TEST_POSTGRES_PENDING"
_POSTGRES_STARTED: list[Path] = []
_POSTGRES_STARTING: list[threading.Thread] = []


def pytest_configure(config: pytest.Config) -> None:
    from tests.browser.conftest import SESSION_MARK, chromium_processes  # noqa: PLC0415

    # marks every process this session starts (Chromium included) through the environment;
    # set before pytest-xdist starts its workers, which inherit it
    os.environ.setdefault(SESSION_MARK, uuid.uuid4().hex)
    _CHROMIUM_AT_START.append(chromium_processes())
    if hasattr(config, "workerinput"):
        return  # an xdist worker: its controller did the rest, and its environment says so
    _cache_bytecode()
    if not os.environ.get(POSTGRES):  # else .ci/run started the server
        _start_postgres()


def _cache_bytecode() -> None:
    """Where the environment says not to write Python's bytecode beside the sources
    (PYTHONDONTWRITEBYTECODE), every process of the session (the xdist workers, each
    `weboter` subprocess) would compile Weboter's modules again on its start (~0.2 s of CPU
    each, some hundred times a session): their bytecode goes to a cache folder in the temp
    dir instead (PYTHONPYCACHEPREFIX), nothing is written beside the sources either way."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    cache = Path(tempfile.gettempdir()) / f"weboter-tests-pycache-{os.getuid()}"
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    sys.pycache_prefix, sys.dont_write_bytecode = str(cache), False


def _start_postgres() -> None:
    """One throwaway PostgreSQL server for the whole session (tests/pgcluster.py), started
    in the background: the tests begin meanwhile, and those that need it wait for it
    (postgres_server). The lock file is held (exclusive) until the start ended, then the
    folder holds `url` or `failed` (why not); xdist workers inherit the folder's name."""
    said = Path(tempfile.mkdtemp(prefix="weboter-pg-start-"))
    lock = (said / "lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # taken before any worker can ask
    os.environ[POSTGRES_PENDING] = str(said)

    def start() -> None:
        try:
            url, folder = pgcluster.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            why = getattr(exc, "stderr", b"") or b""
            (said / "failed").write_text(f"{exc} {why.decode(errors='replace')}".strip())
        else:
            _POSTGRES_STARTED.append(folder)
            (said / "url").write_text(url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    thread = threading.Thread(target=start, name="postgres-start", daemon=True)
    thread.start()
    _POSTGRES_STARTING.append(thread)


def postgres_server() -> str | None:
    """The URL of the session's PostgreSQL server, once it is up (None: there is none, and
    NO_POSTGRES says why)."""
    if os.environ.get(POSTGRES) or not os.environ.get(POSTGRES_PENDING):
        return os.environ.get(POSTGRES)
    said = Path(os.environ[POSTGRES_PENDING])
    with (said / "lock").open() as lock:  # not a sleep: blocks until the start let it go
        fcntl.flock(lock, fcntl.LOCK_SH)
    if (said / "url").exists():
        os.environ[POSTGRES] = (said / "url").read_text()
    else:
        failed = said / "failed"
        os.environ[NO_POSTGRES] = failed.read_text() if failed.exists() else "it never started"
    return os.environ.get(POSTGRES)


# The files whose tests take longest (many seconds each: Chromium, several processes), run
# first: on two pytest-xdist workers (`--dist worksteal`, pyproject.toml) the one that is
# done early takes the other's waiting tests, which works only if none of those is long.
LONG_FIRST = (
    "tests/workers/",  # failover and takeover compare with the recorded demo (recorded_demo)
    "tests/browser/test_fork_fidelity.py",  # these three start on copies of one recorded demo,
    "tests/browser/test_healing.py",  # made once per worker: together, they most often share it
    "tests/browser/test_time_travel.py",
    "tests/guards/test_reach.py",
    "tests/test_crash_resume.py",
    "tests/ui/",
    "tests/ai/",
    "tests/guards/test_fuzz.py",
    "tests/mcp/",
    "tests/browser/test_runs.py",
    "tests/test_concurrency.py",
    "tests/test_engine_restarts.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, p in enumerate(LONG_FIRST) if path.startswith(p)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: within a file, and for every other file, as collected


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite, no Chromium the tests started may still be running (checked
    once, by the process that ran the session, after every xdist worker ended)."""
    from tests.browser.conftest import chromium_processes  # noqa: PLC0415

    if hasattr(session.config, "workerinput"):  # an xdist worker: others may still run
        return
    for thread in _POSTGRES_STARTING:
        thread.join(180)  # its start ends within pgcluster's own timeouts
    for folder in _POSTGRES_STARTED:
        pgcluster.stop(folder)
    if os.environ.get(POSTGRES_PENDING):
        shutil.rmtree(os.environ[POSTGRES_PENDING], ignore_errors=True)
    left = chromium_processes() - (_CHROMIUM_AT_START[0] if _CHROMIUM_AT_START else 0)
    if left > 0:
        print(f"\nFAILED: {left} Chromium process(es) outlived the test suite")
        session.exitstatus = 1


# the actors of an engine the whole session keeps (tests/browser's one Chromium): a test of
# another folder may run between two that use it, and must not stop it
SESSION_ACTORS: set[pykka.ActorRef[Any]] = set()


@pytest.fixture(autouse=True)
def _stop_actors() -> Iterator[None]:
    yield
    for ref in reversed(pykka.ActorRegistry.get_all()):  # the newest first, as stop_all
        if ref not in SESSION_ACTORS:
            stop_actor(ref)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "weboter.db"


def postgres_database() -> str:
    """The URL of a new, empty database on the tests' PostgreSQL server (skips if none)."""
    server = postgres_server()
    if not server:
        pytest.skip(f"no PostgreSQL server for the tests: {os.environ.get(NO_POSTGRES, '?')}")
    import psycopg  # noqa: PLC0415

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def log_path(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """The log of a test that runs on both backends: an SQLite file, or a new PostgreSQL
    database (its stand-in path in tmp_path: runtime/store/location.py)."""
    if request.param == "sqlite":
        yield tmp_path / "weboter.db"
        return
    yield log_location(postgres_database(), home=tmp_path)
    close_pools()  # its connections, before the next test's database gets its own


@dataclass
class Outcome:
    run_id: str
    ended: RunEnded
    state: RunState
    events: list[EventRecord]

    def types(self) -> list[str]:
        return [r.type for r in self.events]


class Runner:
    """Runs workflow dicts on one engine and reads the outcome back from the log."""

    def __init__(
        self,
        db_path: Path,
        env: dict[str, Any] | None = None,
        transport: Literal["zmq", "memory"] = "zmq",
    ) -> None:
        self.db_path = db_path
        settings = Settings(db_path=db_path, snapshot_every=5, transport=transport)
        self.engine = Engine(settings, env=EnvSource(env or {}, use_os=False)).start()
        self.client = self.engine.client()

    def run(
        self, flow: dict[str, Any], variables: dict[str, Any] | None = None, timeout: float = 60.0
    ) -> Outcome:
        run_id = self.client.submit(to_workflow(flow, "test"), variables=variables)
        ended = self.client.wait(run_id, timeout=timeout)
        log = EventLog(self.db_path)
        try:
            return Outcome(run_id, ended, state_at(log, run_id), list(log.read(run_id)))
        finally:
            log.close()

    def close(self) -> None:
        self.client.close()
        self.engine.stop()


@pytest.fixture
def runner(db_path: Path) -> Iterator[Runner]:
    r = Runner(db_path, env={"shop": {"url": "http://shop.test", "password": "hunter2-secret"}})
    yield r
    r.close()


@pytest.fixture(scope="session")
def demo_shop() -> Iterator[ShopServer]:
    """The demo shop on loopback for the whole session (tests/browser's `shop`)."""
    with ShopServer() as server:
        yield server


@dataclass(frozen=True)
class Recorded:
    """A completed run of the demo against the session's shop, alone in a log of its own."""

    db_path: Path
    run_id: str
    out: Path  # the CSV it wrote, beside the log: a run forked from it to its end writes it
    csv: str  # what it wrote there (kept: `out` is written again by such forks)
    completed: tuple[str, ...]  # the nodes it completed, in order


@pytest.fixture(scope="session")
def recorded_demo(tmp_path_factory: pytest.TempPathFactory, demo_shop: ShopServer) -> Recorded:
    """The demo, run once (it takes seconds) in an engine with a real Chromium: a test that
    needs its recording starts an engine on a copy of the log (tests/browser/conftest.py
    copy_log); one that forks it to its end allows `out`'s folder (the run writes its CSV
    there again). Its CSV and completed nodes are an undisturbed run's result."""
    from tests.browser.conftest import BrowserRunner  # noqa: PLC0415
    from weboter.runtime.core.loader import load_workflow  # noqa: PLC0415
    from weboter.runtime.demo.run import WORKFLOW  # noqa: PLC0415

    runner = BrowserRunner(tmp_path_factory.mktemp("recorded") / "weboter.db")
    try:
        out = runner.db_path.parent / "products.csv"
        variables = {"base_url": demo_shop.url, "out": str(out), "rows": []}
        run_id = runner.client.submit(load_workflow(WORKFLOW), variables=variables)
        outcome = runner.outcome(run_id, timeout=120)
        assert outcome.ended.status == "COMPLETED"
    finally:
        runner.close()
    done = tuple(r.event.node_id for r in outcome.events if isinstance(r.event, NodeCompleted))
    return Recorded(runner.db_path, run_id, out, out.read_text(), done)


def node(id_: str, action: str = "EmptyAction", control: str = "NextNode", **fields: Any) -> dict:
    return {"id": id_, "action": action, "control": control, **fields}


def flow(*nodes: dict, **fields: Any) -> dict:
    return {
        "id": fields.pop("id", "f"),
        "name": fields.pop("name", "test flow"),
        "nodes": list(nodes),
        **fields,
    }


def demo_workflow(folder: Path, timeout_ms: int = 1000) -> Path:
    """The demo's workflow, its locators waiting `timeout_ms` (not 5 s) before they give up:
    for tests of runs whose locators are meant to find nothing (healing). A JSON file."""
    from weboter.runtime.core.loader import parse_text  # noqa: PLC0415
    from weboter.runtime.demo.run import WORKFLOW  # noqa: PLC0415

    data = parse_text(WORKFLOW.read_text(encoding="utf-8"), str(WORKFLOW))
    for step in data["nodes"]:
        inputs = step.get("inputs") or {}
        if ("locator" in inputs or "locators" in inputs) and "timeout" not in inputs:
            inputs["timeout"] = timeout_ms
    path = folder / "demo-workflow.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def weboter(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `weboter` command as a real subprocess, with its home (and log) in `home`."""
    environ = {**os.environ, "WEBOTER_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "weboter.runtime.cli.main", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def counter(limit: int | str = 5, nap: float = 0.0, *, done: bool = True) -> dict:
    """init -> inc (loops until count reaches `limit`, napping `nap` s each time) -> done
    (a node setting $global{done}), or straight to `__end__` when `done` is False."""
    last = [node("done", "SetData", "EndFlow", inputs={"key": "$global{done}", "value": True})]
    return flow(
        node(
            "init",
            "SetData",
            inputs={"key": "$global{count}", "value": 0},
            params={"next_node": "inc"},
        ),
        node(
            "inc",
            "PyEvalAction",
            "NextNode",
            inputs={"expr": "param1 + 1", "param1": "$global{count}"},
            outputs=[{"src": "result", "name": "count", "pos": "global"}],
            params={"next_node": "nap"},
        ),
        node(
            "nap",
            "SleepFor",
            "IfElse",
            inputs={"duration": nap},
            params={
                "var": "$global{count}",
                "operator": "lt",
                "value": limit,
                "then_node": "inc",
                "else_node": "done" if done else "__end__",
            },
        ),
        *(last if done else []),
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until `check()` (a read of the log) is truthy and return it; fail after `timeout`.
    For what leaves no acknowledgement to wait on: a row another process writes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)  # not a sync: the pause between two reads of the log, under a deadline
    raise AssertionError(f"timed out waiting for {what}")


def item_run(db_path: Path, parent: str, index: int, attempt: int = 0) -> str | None:
    """The id of the item run of `parent`'s FanOut for item `index` (its `attempt`-th try),
    from the log's RunCreated events; None when it was never made."""
    from weboter.schemas.events import RunCreated  # noqa: PLC0415

    log = EventLog(db_path)
    try:
        for record in log.read():
            made = record.event
            if isinstance(made, RunCreated) and made.item_of is not None:
                of = made.item_of
                if (of.run, of.index, of.attempt) == (parent, index, attempt):
                    return made.run_id
    finally:
        log.close()
    return None
