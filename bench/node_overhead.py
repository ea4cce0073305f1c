"""Per-node overhead of the engine vs a raw SQLite baseline, measured in the same run.

Engine: a loop of N no-op nodes (EmptyAction + LoopUntil), submitted by a client and driven
by the continuous executor, with the durable log. Its nodes are data nodes, so the State
Manager runs them itself, back to back (commit, plan, run, commit ...; docs/architecture.md).
Baseline: plain sqlite3 committing the very same event rows, one transaction per node, in the
same durability mode, into a table with the same indexes. Prints µs/node for both, their
ratio (target <= 3; the median of each round's ratio: engine and baseline run back to back,
after a warm-up run that is not counted), log bytes per node, and the engine's peak memory
for 1k and 10k nodes (target: 10k within 1.2x of 1k — history lives in the log, not in RAM).
`--secret`: every node reads a `$env` value, so every command is redacted (its cost shows).

    python bench/node_overhead.py [--nodes 5000] [--durability sync|full] [--repeat 7] [--secret]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog

SECRET = 'bench-s3cret&"<>/é'  # every encoded form of it differs from it


def loop_workflow(nodes: int, secret: bool = False) -> dict:
    message = "Bearer $env{bench.token}" if secret else ""
    return {
        "id": "noop-loop",
        "name": "no-op loop",
        "nodes": [
            {
                "id": "noop",
                "action": "EmptyAction",
                "inputs": {"message": message},
                "control": "LoopUntil",
                "params": {
                    "loop_back": "noop",
                    "loop_out": "__end__",
                    "var": 0,
                    "value": 1,
                    "loop_tries": nodes - 1,
                },
            }
        ],
    }


def engine_run(db: Path, nodes: int, durability: str, secret: bool = False) -> tuple[float, str]:
    """Seconds per node through the engine, and the run id."""
    env = EnvSource({"bench": {"token": SECRET}}, use_os=False)
    settings = Settings(db_path=db, durability=durability)  # type: ignore[arg-type]
    engine = Engine(settings, env=env).start()
    try:
        with engine.client(follow=False) as client:
            workflow = to_workflow(loop_workflow(nodes, secret), "bench")
            started = time.perf_counter()
            run_id = client.submit(workflow)
            ended = client.wait(run_id, timeout=600)
            elapsed = time.perf_counter() - started
    finally:
        engine.stop()
    assert ended.status == "COMPLETED", ended
    return elapsed / nodes, run_id


def baseline_run(source_db: Path, run_id: str, target: Path, durability: str) -> float:
    """Seconds per node for raw sqlite3 committing the engine's own rows, node by node."""
    log = EventLog(source_db)
    rows = log.read_stored(run_id)
    log.close()
    per_command: dict[str, list] = {}
    for row in rows:
        per_command.setdefault(row.command_id, []).append(row)
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, "
        "run_version INTEGER, type TEXT, schema_version INTEGER, command_id TEXT, payload BLOB, "
        "recorded_at REAL, UNIQUE (run_id, run_version))"
    )
    conn.execute("CREATE INDEX events_run_seq ON events (run_id, seq)")
    nodes = sum(1 for r in rows if r.type == "NodeCompleted")
    started = time.perf_counter()
    for command_rows in per_command.values():
        conn.execute("BEGIN IMMEDIATE")
        for r in command_rows:
            conn.execute(
                "INSERT INTO events (run_id, run_version, type, schema_version, command_id, "
                "payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    r.run_id,
                    r.run_version,
                    r.type,
                    r.schema_version,
                    r.command_id,
                    r.payload,
                    time.time(),
                ),
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed / nodes


def log_bytes_per_node(db: Path, nodes: int) -> float:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.stat().st_size / nodes


def peak_memory(nodes: int) -> int:
    """The engine process's peak RSS (KiB) for one run of `nodes` nodes (a fresh process)."""
    code = (
        "import resource, sys, tempfile, pathlib; sys.path.insert(0, 'bench');"
        "from node_overhead import engine_run;"
        "d = pathlib.Path(tempfile.mkdtemp()) / 'm.db';"
        f"engine_run(d, {nodes}, 'sync');"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--durability", choices=("sync", "full"), default="sync")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true", help="skip the 1k/10k memory runs")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--secret", action="store_true", help="every node reads a $env value (redaction's cost)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:  # a first run pays once for lazy imports
        engine_run(Path(tmp) / "warm-up.db", 500, args.durability, args.secret)
    engine_us, base_us, bytes_node = [], [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "engine.db"
            per_node, run_id = engine_run(db, args.nodes, args.durability, args.secret)
            base = baseline_run(db, run_id, Path(tmp) / "raw.db", args.durability)
            engine_us.append(per_node * 1e6)
            base_us.append(base * 1e6)
            bytes_node.append(log_bytes_per_node(db, args.nodes))
            print(
                f"  round {i + 1}: engine {per_node * 1e6:7.1f} µs/node   "
                f"raw sqlite {base * 1e6:6.1f} µs/node   ratio {per_node / base:5.2f}",
                file=sys.stderr,
                flush=True,
            )
    engine_med, base_med = statistics.median(engine_us), statistics.median(base_us)
    # each round's engine and baseline run back to back: their ratio is the least disturbed
    # by this machine's changing speed (it drifts by 2x within minutes)
    ratios = [engine / base for engine, base in zip(engine_us, base_us, strict=True)]
    result = {
        "nodes": args.nodes,
        "durability": args.durability,
        "secret": args.secret,
        "engine_us_per_node": round(engine_med, 1),
        "raw_sqlite_us_per_node": round(base_med, 1),
        "ratio": round(statistics.median(ratios), 2),
        "target_ratio": 3.0,
        "log_bytes_per_node": round(statistics.median(bytes_node), 1),
    }
    if not args.no_memory:
        print("  measuring peak memory for 1k and 10k nodes ...", file=sys.stderr, flush=True)
        small, large = peak_memory(1000), peak_memory(10000)
        result |= {
            "peak_rss_kib_1k": small,
            "peak_rss_kib_10k": large,
            "memory_ratio_10k_vs_1k": round(large / small, 3),
            "target_memory_ratio": 1.2,
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result, args.repeat)
    return 0


def report(result: dict, rounds: int) -> None:
    print(
        f"node overhead ({result['nodes']} no-op nodes, durability {result['durability']}"
        f"{', each reading a secret' if result['secret'] else ''}, "
        f"medians of {rounds} rounds; the ratio: of each round's):"
    )
    print(f"  engine      {result['engine_us_per_node']:8.1f} µs/node")
    print(f"  raw sqlite  {result['raw_sqlite_us_per_node']:8.1f} µs/node")
    print(f"  ratio       {result['ratio']:8.2f}   (target <= 3)")
    print(f"  log         {result['log_bytes_per_node']:8.1f} bytes/node")
    if "peak_rss_kib_1k" in result:
        print(
            f"  peak RSS    {result['peak_rss_kib_1k'] / 1024:8.1f} MiB at 1k nodes, "
            f"{result['peak_rss_kib_10k'] / 1024:.1f} MiB at 10k: ratio "
            f"{result['memory_ratio_10k_vs_1k']:.3f} (target <= 1.2)"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    del resource  # only used in the memory subprocess
    sys.exit(main())
