"""The broker's book of leases, on its own: where a run's nodes go, what waits for a slot,
what a lost worker leaves to place again."""

from __future__ import annotations

import pytest

from weboter.runtime.workers.leases import Leases, Task

pytestmark = pytest.mark.timeout(10)


def task(run: str, node: str = "n", version: int = 1) -> Task:
    return Task(run, node, version, f"c-{run}-{node}", "executor", f"{run}:{node}".encode())


def names(dispatches: list) -> list[tuple[str, str, bool]]:
    return [(w.name, t.run_id, new) for w, t, new in dispatches]


def test_a_new_run_goes_to_the_least_loaded_worker_and_stays_there() -> None:
    book = Leases()
    book.join(b"a", "a", capacity=2, now=0)
    book.join(b"b", "b", capacity=2, now=0)
    assert names(book.submit(task("r1"))) == [("a", "r1", True)]
    assert names(book.submit(task("r2"))) == [("b", "r2", True)]
    worker = book.holder_of("r1")
    assert worker is not None
    book.finished(worker, "r1")
    assert names(book.submit(task("r1", "m"))) == [("a", "r1", False)]  # sticky


def test_nodes_beyond_capacity_wait_in_order_and_take_freed_slots() -> None:
    book = Leases()
    book.join(b"a", "a", capacity=1, now=0)
    assert names(book.submit(task("r1"))) == [("a", "r1", True)]
    assert book.submit(task("r2")) == []  # leased to a, waiting for its slot
    assert book.submit(task("r3")) == []
    a = book.workers[b"a"]
    # r2's first node leaves the queue now: its LEASE goes first, then as a lease never again
    assert names(book.finished(a, "r1")) == [("a", "r2", True)]
    assert names(book.finished(a, "r2")) == [("a", "r3", True)]
    book.submit(task("r2", "m"))
    assert names(book.finished(a, "r3")) == [("a", "r2", False)]
    assert book.submit(task("r3", "m")) == []
    assert book.release("r3") is a  # r3 ended with a node waiting: it is dropped
    assert book.finished(a, "r2") == []
    assert book.holder == {"r1": b"a", "r2": b"a"}


def test_without_workers_nodes_wait_until_one_joins() -> None:
    book = Leases()
    assert book.submit(task("r1")) == []
    assert names(book.join(b"a", "a", capacity=4, now=0)) == [("a", "r1", True)]


def test_a_lost_worker_gives_up_its_leases() -> None:
    book = Leases()
    book.join(b"a", "a", capacity=1, now=0)
    book.join(b"b", "b", capacity=1, now=5)
    book.submit(task("r1"))  # to a (same load, name order)
    lost = book.expired(now=8, timeout=7.5)
    assert [w.name for w in lost] == ["a"]
    assert "r1" not in book.holder
    in_flight = list(lost[0].busy.values())
    assert names(book.submit(in_flight[0])) == [("b", "r1", True)]  # a new lease, on b
    assert book.seen(b"a", now=9) is None  # its late reports find no worker
    assert book.next_expiry(7.5) == 12.5  # b, heard at 5
