"""A send to an address that is gone never blocks: it is dropped with a log line. (Under load
the engine once hung in teardown: the Context Bus blocked sending to a stopped executor.)"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import zmq

from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.transport.actor import stop_actor
from weboter.runtime.transport.bridge import Bridge
from weboter.runtime.transport.subscriber import subscribe
from weboter.schemas.messages import Shutdown

pytestmark = pytest.mark.timeout(60)


def bounded(fn, seconds: float = 20.0) -> object:  # type: ignore[no-untyped-def]
    """Run `fn` in a thread; fail (instead of hanging the suite) if it does not return. A
    send that blocks blocks for good: the bound is there for a busy machine, not a measure."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn} blocked for more than {seconds} s"
    return result[0] if result else None


@pytest.fixture
def bridge() -> Bridge:
    found = Bridge(zmq.Context())
    found.start()
    yield found
    found.stop()
    found.context.term()


def test_a_send_to_a_mailbox_that_closed_is_dropped(
    bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    def scenario() -> list[bool]:
        box = bridge.mailbox("gone")
        outbox = bridge.outbox()
        assert outbox.send("gone", Shutdown(reason="first"))
        box.get(timeout=5)
        box.close()
        bridge.unregister("gone")
        sent = [outbox.send("gone", Shutdown(reason=str(i))) for i in range(1000)]
        bridge.close_outbox()
        return sent

    with caplog.at_level(logging.WARNING):
        sent = bounded(scenario)
    assert isinstance(sent, list)
    assert len(sent) == 1000  # every send returned: handed to the bridge, which drops it


def test_a_send_to_a_closed_inbox_that_is_still_registered_does_not_block(bridge: Bridge) -> None:
    def scenario() -> bool:
        box = bridge.mailbox("stale")
        outbox = bridge.outbox()
        outbox.send("stale", Shutdown())
        box.get(timeout=5)
        box.close()  # closed, but its address was never unregistered
        # past ZeroMQ's default high-water mark (1,000), where a send could otherwise block
        results = [outbox.send("stale", Shutdown(reason=str(i))) for i in range(3_000)]
        bridge.close_outbox()
        return results

    results = bounded(scenario)  # the point: 3,000 sends returned, none blocked
    assert isinstance(results, list)
    assert len(results) == 3_000


def test_hook_interest_to_a_stopped_executor_does_not_hang_the_engine(tmp_path: Path) -> None:
    engine = Engine(Settings(db_path=tmp_path / "runs.db")).start()
    step_executor = next(r for r in engine._refs if r.actor_class.__name__ == "StepExecutor")
    stop_actor(step_executor, timeout=10)
    sub = engine.context.socket(zmq.SUB)
    sub.connect(engine.bus_endpoint)
    subscribe(sub, b"hook.")  # the bus now tells both executors, one of them stopped
    sub.close(linger=0)
    bounded(engine.stop, seconds=20)  # returns: nobody blocked on the stopped executor
