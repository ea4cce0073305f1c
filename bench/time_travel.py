"""Time travel costs as runs grow: `state_at` at random points, creating a fork, log size.

For runs of 1k, 10k and 100k events (no-op loops through the real engine and log), prints
the median `state_at` time over random seqs, the median time to create a fork (a new run,
LOADED, from a random point), and log bytes per event. Targets: `state_at` stays flat
(100k within 2x of 1k); a fork takes under 2x one `state_at`.

    python bench/time_travel.py [--sizes 1000,10000,100000] [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from node_overhead import loop_workflow

from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at


def measure(events: int, samples: int, rng: random.Random) -> dict[str, float]:
    db = Path(tempfile.mkdtemp()) / "tt.db"
    nodes = events - 3  # RunCreated, RunStarted, RunCompleted
    with Engine(Settings(db_path=db)) as engine:
        client = engine.client()
        started = time.perf_counter()
        run_id = client.submit(to_workflow(loop_workflow(nodes), "bench"))
        ended = client.wait(run_id, timeout=3600)
        assert ended.status == "COMPLETED", ended
        build = time.perf_counter() - started
        log = EventLog(db)
        seqs = [r.seq for r in log.read_stored(run_id)]
        # state_at at random points (not the last, which the fork measure also avoids)
        picks = [rng.choice(seqs[:-1]) for _ in range(samples)]
        times = []
        for seq in picks:
            t = time.perf_counter()
            state_at(log, run_id, seq)
            times.append(time.perf_counter() - t)
        forks = []
        for seq in picks[: max(samples // 10, 5)]:
            t = time.perf_counter()
            client.fork(run_id, seq, start=None)
            forks.append(time.perf_counter() - t)
        log.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "events": len(seqs),
        "build_s": round(build, 1),
        "state_at_ms": statistics.median(times) * 1000,
        "fork_ms": statistics.median(forks) * 1000,
        "bytes_per_event": db.stat().st_size / len(seqs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"  building a run of {size} events ...", file=sys.stderr, flush=True)
        rows.append(measure(size, args.samples, rng))
    small, large = rows[0], rows[-1]
    result = {
        "runs": rows,
        "state_at_ratio_largest_vs_smallest": round(large["state_at_ms"] / small["state_at_ms"], 2),
        "fork_vs_state_at": round(large["fork_ms"] / large["state_at_ms"], 2),
        "targets": {"state_at_ratio": 2.0, "fork_vs_state_at": 2.0},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"time travel (median of {args.samples} random points):")
    print(f"  {'events':>8} {'state_at ms':>12} {'fork ms':>9} {'bytes/event':>12}")
    for row in rows:
        print(
            f"  {row['events']:>8} {row['state_at_ms']:>12.2f} {row['fork_ms']:>9.2f} "
            f"{row['bytes_per_event']:>12.1f}"
        )
    print(
        f"  state_at {large['events']} vs {small['events']} events: "
        f"{result['state_at_ratio_largest_vs_smallest']:.2f}x (target <= 2)"
    )
    print(f"  fork vs one state_at: {result['fork_vs_state_at']:.2f}x (target < 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
