"""Engines that share one log (PostgreSQL): a subscriber of either engine's stream hears every
run's events — those the other engine appends (its bus follows the log by seq) and its own —
each once, in seq order, with each run's prev_seq chain unbroken."""

from __future__ import annotations

import itertools
from pathlib import Path

import msgspec
import pytest

from tests.actors.test_bus import WF
from tests.conftest import postgres_database
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.location import log_location
from weboter.runtime.transport.subscriber import subscribe

pytestmark = pytest.mark.timeout(60)


def test_each_engine_streams_the_runs_of_the_other(tmp_path: Path) -> None:
    shared = log_location(postgres_database(), home=tmp_path)
    with Engine(Settings(db_path=shared)) as one, Engine(Settings(db_path=shared)) as other:
        sub = other.event_socket()
        subscribe(sub, b"run.")  # returns once the publisher acknowledged it
        with one.client() as client:  # two runs on the first engine
            runs = [client.submit(WF) for _ in range(2)]
            for run_id in runs:
                client.wait(run_id, timeout=20)
        with other.client() as client:  # and one on the second: its own, published once
            runs.append(client.submit(WF))
            client.wait(runs[-1], timeout=20)
        log = EventLog(shared, create=False)
        try:
            logged = [(e.seq, e.run_id) for e in log.read_stored()]
        finally:
            log.close()
        headers: list[dict] = []
        while len(headers) < len(logged) and sub.poll(10_000):
            _topic, header, _payload = sub.recv_multipart()
            decoded = msgspec.msgpack.decode(header)
            if "subscribed" not in decoded:
                headers.append(decoded)
        sub.close(linger=0)
    assert sorted((h["seq"], h["run_id"]) for h in headers) == logged  # each event once
    for run_id in runs:
        mine = [h for h in headers if h["run_id"] == run_id]
        assert [h["seq"] for h in mine] == sorted(h["seq"] for h in mine)  # in order
        assert mine[0]["prev_seq"] == 0
        for before, after in itertools.pairwise(mine):
            assert after["prev_seq"] == before["seq"]
