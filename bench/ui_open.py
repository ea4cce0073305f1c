"""How fast the dev UI opens a run as runs grow: a run of 1k events vs one of 100k events
(no-op loops through the real engine and log), each request answered by the UI's real app.

Prints, per size, the median time of: opening the run's page (`GET /api/runs/ID`: its state,
graph, node marks, repairs — the first open reads the run's steps in outline once, later ones
only what is new), the state at a point of its timeline (`/at/SEQ`, random SEQ, with the
events around it and the graph as of then), a page of its events, the runs list, a page of
the action list and one step whole; then each 100k/1k ratio. Targets:
the first open of the 100k run under 1 s; the others flat (ratio under 2).

    python bench/ui_open.py [--sizes 1000,100000] [--samples 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

from node_overhead import engine_run

from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.reading import Reader
from weboter.runtime.ui.app import build_app

TOKEN = "bench-token-0123456789"


def timed(client: TestClient, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    return elapsed


def measure(size: int, samples: int, folder: Path) -> dict[str, float]:
    db = folder / f"ui-{size}.db"
    print(f"  making a run of {size} events ...", flush=True)
    _, run_id = engine_run(db, size, "sync")
    with Reader(db) as log:
        first, last = log.first_seq(run_id), log.last_seq(run_id)
    events = last - first + 1  # the only run in its log: its seqs follow each other
    app, engines = build_app(
        db,
        Settings(db_path=db),
        token=TOKEN,
        hosts={"testserver"},
        loopback=True,
        port=0,  # the test client's requests name no port
    )
    found: dict[str, float] = {}
    with TestClient(app, headers={"X-Weboter-Token": TOKEN}) as client:
        found["first open"] = timed(client, f"/api/runs/{run_id}")
        found["open again"] = statistics.median(
            timed(client, f"/api/runs/{run_id}") for _ in range(samples)
        )
        points = [random.randint(first, last) for _ in range(samples)]
        found["state at a point"] = statistics.median(
            timed(client, f"/api/runs/{run_id}/at/{seq}") for seq in points
        )
        found["a page of events"] = statistics.median(
            timed(client, f"/api/runs/{run_id}/events?after={max(seq - 13, 0)}&limit=25")
            for seq in points
        )
        found["runs list"] = statistics.median(timed(client, "/api/runs") for _ in range(samples))
        found["action list page"] = statistics.median(
            timed(client, f"/api/runs/{run_id}/steps?after={max(seq - 50, 0)}&limit=100")
            for seq in points
        )
        steps = client.get(f"/api/runs/{run_id}/steps?limit=500").json()["steps"]
        found["a step whole"] = statistics.median(
            timed(client, f"/api/runs/{run_id}/steps/{random.choice(steps)['seq']}")
            for _ in range(samples)
        )
    engines.stop()
    print(f"  {events} events:", flush=True)
    for name, seconds in found.items():
        print(f"    {name:<18} {seconds * 1000:8.1f} ms", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("ui_open: the dev UI's requests on runs of", ", ".join(map(str, sizes)), "events")
    with tempfile.TemporaryDirectory() as tmp:
        results = {size: measure(size, args.samples, Path(tmp)) for size in sizes}
    small, big = results[sizes[0]], results[sizes[-1]]
    print(f"  ratios {sizes[-1]} / {sizes[0]} events (target: under 2, but the first open)")
    for name in small:
        print(f"    {name:<18} {big[name] / small[name]:6.2f}x")
    verdict = "meets" if big["first open"] < 1.0 else "MISSES"
    print(
        f"  first open of {sizes[-1]} events: {big['first open']:.3f} s ({verdict} the 1 s target)"
    )


if __name__ == "__main__":
    main()
