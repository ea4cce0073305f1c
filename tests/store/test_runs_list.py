"""The runs list in SQL, on both databases: a page of the runs a search finds (text in the run
id, the workflow, the status, a failed run's error; a status; creation dates), newest first,
with how many it finds in all; how long each ran and who drove it (the engine, the worker);
and a log written before the list's columns gets them when it is opened."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.made_runs import SHOP, Writer, make_runs
from weboter.runtime.store.listing import RunFilter
from weboter.runtime.store.location import postgres_url
from weboter.runtime.store.postgres import close_pools
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.runs import this_host

pytestmark = pytest.mark.timeout(120)
FAILED = {3: "the shop answered 503 for page 7", 11: "no element matches label 'Price_%'"}


def ids(log: Reader, found: RunFilter, limit: int = 100, offset: int = 0) -> list[str]:
    return [r.run_id for r in log.runs_page(found, limit, offset).runs]


def test_pages_newest_first_with_the_total(log_path: Path) -> None:
    runs = make_runs(log_path, 30)
    with Reader(log_path) as log:
        page = log.runs_page(RunFilter(), 10, 20)
        assert [r.run_id for r in page.runs] == runs[9::-1]  # runs 21-30 of 30: the oldest
        assert page.total == 30
        assert ids(log, RunFilter(), 10) == runs[:-11:-1]
        assert log.runs_page(RunFilter(), 10, 30).runs == []  # past the end: empty, same total
        assert log.runs_page(RunFilter(), 10, 30).total == 30
        assert [r.run_id for r in log.runs(5)] == runs[:-6:-1]  # the old list: the same order


def test_a_search_finds_ids_workflows_statuses_and_errors(log_path: Path) -> None:
    runs = make_runs(log_path, 15, FAILED)
    with Reader(log_path) as log:
        assert ids(log, RunFilter(text=runs[4][:8])) == [runs[4]]  # an id's beginning
        assert ids(log, RunFilter(text=runs[4][6:14].upper())) == [runs[4]]  # any part of it
        assert ids(log, RunFilter(text="count")) == runs[2::3][::-1]  # the workflow's name
        assert (
            ids(log, RunFilter(text="SHOP")) == [r for i, r in enumerate(runs) if i % 3 != 2][::-1]
        )  # its id and name, in any case
        assert ids(log, RunFilter(text="fail")) == [runs[11], runs[3]]  # the status
        assert ids(log, RunFilter(text="503 for page")) == [runs[3]]  # a failed run's error
        assert ids(log, RunFilter(text="ActionTimeout")) == [runs[11], runs[3]]  # its kind
        assert ids(log, RunFilter(text="Price_%")) == [runs[11]]  # % and _ are not wildcards
        assert ids(log, RunFilter(text="a%b")) == ids(log, RunFilter(text="s_o")) == []
        assert ids(log, RunFilter(text="nothing like it")) == []
        assert ids(log, RunFilter(status="FAILED", text="page 7")) == [runs[3]]
        assert log.runs_page(RunFilter(status="LOADED"), 5).total == 13
        loaded = log.runs_page(RunFilter(status="LOADED"), 5)
        assert {r.status for r in loaded.runs} == {"LOADED"}
        assert loaded.runs[0].error is None
        failed = log.listed(runs[3])
        assert failed.error == "ActionTimeout: the shop answered 503 for page 7"


def test_creation_dates_bound_the_list(log_path: Path) -> None:
    first = make_runs(log_path, 4)
    with Reader(log_path) as log:
        between = log.listed(first[-1]).created_at
    with Writer(log_path) as writer:
        later = [writer.create(SHOP, 100 + i) for i in range(3)]
    with Reader(log_path) as log:
        assert ids(log, RunFilter(since=between)) == [*later[::-1], first[-1]]  # at or after
        assert ids(log, RunFilter(until=between)) == first[-2::-1]  # before
        assert ids(log, RunFilter(since=between, until=between)) == []
        assert log.runs_page(RunFilter(since=time.time() + 60), 10).total == 0


def test_who_drives_a_run_and_how_long_it_ran(log_path: Path) -> None:
    with Writer(log_path) as writer:
        run = writer.create()
        waiting = writer.create(number=1)
        writer.start(run)  # this process drives it now
        with Reader(log_path) as log:
            driven = log.listed(run)
            assert (driven.status, driven.engine, driven.driving) == (
                "RUNNING",
                f"{this_host()}:{os.getpid()}",
                True,
            )
            assert driven.worker is None
            assert log.listed(run).duration >= driven.duration  # running: until now
            never = log.listed(waiting)
            assert (never.engine, never.worker, never.driving) == (None, None, False)
            assert never.duration == 0.0  # created, nothing since
        writer.node_failed(run, "the page never loaded", worker="box-2:4711")
    with Reader(log_path) as log:
        failed = log.listed(run)
        # nobody drives it once it failed; who drove it, and which worker ran its node, stay
        assert (failed.status, failed.driving) == ("FAILED", False)
        assert (failed.engine, failed.worker) == (f"{this_host()}:{os.getpid()}", "box-2:4711")
        assert failed.error == "ActionError: the page never loaded"
        assert failed.duration == pytest.approx(failed.last_at - failed.created_at)
        assert failed.duration > 0
        assert ids(log, RunFilter(text="box-2")) == []  # a worker is shown, not searched


def test_a_log_from_before_the_list_columns_gets_them(log_path: Path) -> None:
    runs = make_runs(log_path, 3, {1: "a timeout of 5 s"})
    _as_schema_3(log_path)
    with Reader(log_path) as log:
        assert ids(log, RunFilter(text="timeout of")) == [runs[1]]  # its error, filled in
        assert log.listed(runs[0]).engine is None


def _as_schema_3(path: Path) -> None:
    """The log as the Weboter before the runs list's columns left it."""
    url = postgres_url(path)
    if url is None:
        conn = sqlite3.connect(path)
        for column in ("error", "engine", "worker"):
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("DROP INDEX runs_created")
        conn.execute("PRAGMA user_version=3")
        conn.commit()
        conn.close()
        return
    import psycopg  # noqa: PLC0415

    from weboter.runtime.store import postgres  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN error, DROP COLUMN engine, DROP COLUMN worker")
        conn.execute("UPDATE weboter_log SET value = '3' WHERE key = 'schema'")
    close_pools()
    postgres._PREPARED.discard(url)  # this process looks at the database's schema again


def test_a_run_taken_from_its_workers_names_no_worker(log_path: Path) -> None:
    """A node a worker ran, then one the engine ran itself (a person continued the run in
    `weboter ui`, say): the runs list no longer names the worker — also when the engine that
    ran it is another process than the one that wrote the worker."""
    with Writer(log_path) as writer:
        run = writer.create()
        writer.start(run)
        writer.node_done(run, worker="w1")
    with Reader(log_path) as log:
        assert log.listed(run).worker == "w1"
    with Writer(log_path) as other:  # another process: it never wrote this run's row
        other.node_done(run)
    with Reader(log_path) as log:
        assert not log.listed(run).worker
