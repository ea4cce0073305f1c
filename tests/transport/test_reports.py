"""What the broker lets through of a worker's report, on its own: only the holder's report
about the node it runs now, answered where that node's answer goes, naming only artifacts it
uploaded (or the page state it was given); uploads stored under their own hash only."""

from __future__ import annotations

import hashlib

import pytest

from weboter.runtime.transport.bridge import encode
from weboter.runtime.workers.leases import Leases, Task
from weboter.runtime.workers.reports import KEPT_ADDRESSES, Uploads, read, refusal
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import RecordAttempt, RecordNodeResult
from weboter.schemas.state import BrowserState

pytestmark = pytest.mark.timeout(10)

GIVEN = "a" * 64 + ".json"  # the page state the node was given
OTHER = "b" * 64 + ".json"  # another run's page state


def book() -> Leases:
    found = Leases()
    found.join(b"w1", "one", capacity=2, now=0)
    found.join(b"w2", "two", capacity=2, now=0)
    found.submit(Task("r", "n", 7, "c1", "executor", b"", GIVEN))  # to w1
    return found


def result(**fields: object) -> bytes:
    base: dict[str, object] = {
        "command_id": "c1",
        "run_id": "r",
        "version": 7,
        "node_id": "n",
        "flow_path": ["f"],
        "reply_to": "executor",
    }
    return encode(RecordNodeResult(**{**base, **fields}))  # type: ignore[arg-type]


def why(payload: bytes, worker: bytes = b"w1", uploaded: frozenset[str] = frozenset()) -> str:
    leases = book()
    entry = leases.workers[worker]
    return refusal(read(payload), entry, leases.holder_of("r"), set(uploaded)) or ""


def test_the_holders_report_of_its_node_goes_through() -> None:
    assert why(result()) == ""
    assert why(result(browser=BrowserState(url="u", storage=GIVEN))) == ""  # carried over
    attempt = RecordAttempt(
        command_id="c1-1",
        run_id="r",
        version=7,
        node_id="n",
        error=ErrorContext(kind="X", message="m"),
    )
    assert why(encode(attempt)) == ""


def test_other_reports_are_refused_with_the_reason() -> None:
    assert "which does not hold its lease (one does)" in why(result(), worker=b"w2")
    assert "not about the node it runs now" in why(result(command_id="c0"))
    assert "not about the node it runs now" in why(result(reply_to="launcher"))
    assert "not about the node it runs now" in why(result(version=6))
    stolen = result(browser=BrowserState(url="u", storage=OTHER))
    assert "names artifacts it did not upload" in why(stolen)
    assert why(stolen, uploaded=frozenset({OTHER})) == ""  # its own upload: fine


def test_uploads_are_held_under_their_own_hash_within_a_limit() -> None:
    uploads = Uploads(limit=10)
    data = b"12345"
    address = hashlib.sha256(data).hexdigest() + ".png"
    assert uploads.add(b"w", address, data) is None
    assert "not the SHA-256" in (uploads.add(b"w", "c" * 64 + ".png", data) or "")
    assert uploads.take(b"w") == {}  # a bad upload voids what was held with it
    assert uploads.add(b"w", address, data) is None
    other = b"67890!"
    assert "over" in (uploads.add(b"w", hashlib.sha256(other).hexdigest(), other) or "")
    assert uploads.take(b"w") == {}


def test_a_worker_may_name_its_upload_another_of_its_reports_carried() -> None:
    """Two nodes at once on one worker: what the first made is uploaded before the second's
    report, which takes it along; the first's report names it, and goes through. Another
    worker naming it is still refused."""
    uploads = Uploads()
    data = b"page state of run A"
    address = hashlib.sha256(data).hexdigest() + ".json"
    assert uploads.add(b"w1", address, data) is None
    carried = uploads.take(b"w1")  # run B's report came first
    assert carried == {address: data}
    uploads.stored(b"w1", carried)  # ... and was accepted: its uploads are stored
    naming = result(browser=BrowserState(url="u", storage=address))
    assert why(naming, uploaded=frozenset(uploads.sent(b"w1", uploads.take(b"w1")))) == ""
    assert "did not upload" in why(naming, uploaded=frozenset(uploads.sent(b"w2", {})))
    uploads.forget(b"w1")  # the worker is gone: nothing of it is remembered
    assert uploads.sent(b"w1", {}) == set()


def test_a_worker_s_stored_addresses_are_bounded() -> None:
    uploads = Uploads()
    uploads.stored(b"w", (f"{i:064x}" for i in range(KEPT_ADDRESSES + 10)))
    kept = uploads.sent(b"w", {})
    assert len(kept) == KEPT_ADDRESSES
    assert f"{0:064x}" not in kept
    assert f"{KEPT_ADDRESSES + 9:064x}" in kept
