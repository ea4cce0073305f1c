"""How long a fork's browser takes to come back, per restore mode, at the start, middle and
end of the demo: captured state (a new context with the recorded tabs, cookies, storage,
fields, scroll) against re-driving the run's browser steps. Both are timed by the engine itself
(BrowserRestored.duration_ms, the check of the page included), in the same process, against
the same demo shop on loopback; prints medians and the ratio redrive / captured.

    python bench/restore.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weboter.runtime.core.loader import load_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.demo.run import WORKFLOW
from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.events import BrowserRestored, NodeCompleted


def _restored(log: EventLog, run_id: str) -> list[BrowserRestored]:
    return [r.event for r in log.read(run_id) if isinstance(r.event, BrowserRestored)]


def restore_times(base_url: str, mode: str, rounds: int) -> dict[str, float]:
    env = EnvSource({"shop": {"user": USER, "password": PASSWORD}}, use_os=False)
    db = Path(tempfile.mkdtemp()) / "r.db"
    settings = Settings(db_path=db, browser_restore=mode)  # type: ignore[arg-type]
    with Engine(settings, env=env) as engine:
        client = engine.client()
        variables = {"base_url": base_url, "out": "out.csv", "rows": []}
        parent = client.submit(load_workflow(WORKFLOW), variables=variables)
        assert client.wait(parent, timeout=300).status == "COMPLETED"
        log = EventLog(db)
        steps = [
            r.seq
            for r in log.read(parent)
            if isinstance(r.event, NodeCompleted) and r.event.browser is not None
        ]
        where = {"start": steps[1], "middle": steps[len(steps) // 2], "end": steps[-2]}
        found: dict[str, float] = {}
        for name, seq in where.items():
            times = []
            for _ in range(rounds):
                child = client.fork(parent, seq, start="step")
                ended = client.wait(child, timeout=300)
                while not (restored := _restored(log, child)) and ended.status == "PAUSED":
                    ended = client.step(child, timeout=300)  # on to its next browser node
                assert restored, (child, ended)
                assert not restored[0].differences, restored
                times.append(restored[0].duration_ms)
            found[name] = statistics.median(times)
        log.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with ShopServer() as shop:
        captured = restore_times(shop.url, "captured", args.rounds)
        redrive = restore_times(shop.url, "redrive", args.rounds)
    print(f"restore of a fork's browser (demo shop, median of {args.rounds}):")
    print(f"  {'where':<8} {'captured ms':>12} {'redrive ms':>11} {'redrive/captured':>17}")
    for name in captured:
        ratio = redrive[name] / captured[name]
        print(f"  {name:<8} {captured[name]:>12.0f} {redrive[name]:>11.0f} {ratio:>16.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
