"""The log on PostgreSQL beside SQLite, measured in the same run on the same machine:

- appends/s: one-event commands appended through `EventLog.append` (durability `sync`: each
  one committed), by 1 writer and by 4 writers at once (threads, a log each);
- per-node overhead: a loop of N no-op nodes through a whole engine (as bench/node_overhead.py);
- takeover: two `weboter serve` engines on one PostgreSQL log (as two hosts: WEBOTER_HOST
  differs); the one driving a run is killed (SIGKILL); seconds until the other has resumed it
  (its lease runs out after 5 s; the other looks once a second).

Rounds interleave the backends; the median of each figure is printed, with PostgreSQL's ratio
to SQLite. The server is a throwaway cluster (tests/pgcluster.py: Debian's `postgresql`
binaries), or $WEBOTER_BENCH_POSTGRES (a URL of a database this bench may fill).

    python bench/postgres.py [--appends 2000] [--nodes 2000] [--rounds 3] [--takeovers 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/pgcluster.py

from bench.node_overhead import engine_run
from tests import pgcluster
from weboter.runtime.store.eventlog import EventLog, encode_event
from weboter.runtime.store.location import log_location
from weboter.runtime.store.postgres import close_pools
from weboter.schemas.events import VariableSet

WEBOTER = (sys.executable, "-m", "weboter.runtime.cli.main")


def new_database(server: str) -> str:
    import psycopg  # noqa: PLC0415

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def appends_per_second(path: Path, count: int, writers: int) -> float:
    payload = encode_event(VariableSet(name="n", value=1))
    EventLog(path).close()

    def write(run: str) -> None:
        log = EventLog(path)
        try:
            for i in range(count // writers):
                log.append(run, i, [("VariableSet", payload)], command_id=f"{run}-{i}")
        finally:
            log.close()

    threads = [
        threading.Thread(target=write, args=(uuid.uuid4().hex[:16],)) for _ in range(writers)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (count // writers * writers) / (time.perf_counter() - started)


def serve(home: Path, url: str, host: str, port: int) -> subprocess.Popen[str]:
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weboter.runtime.cli.main",
            "serve",
            "--json",
            "--db",
            url,
            "--bind",
            f"tcp://127.0.0.1:{port}",
        ],
        env={**os.environ, "WEBOTER_HOME": str(home), "WEBOTER_HOST": host},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.rstrip() == "}":
            return proc
    raise SystemExit(f"weboter serve did not start: {proc.stderr.read() if proc.stderr else ''}")


def takeover_seconds(server: str, folder: Path, port: int) -> float:
    """Seconds from the SIGKILL of the engine driving a run to the other's RunResumed."""
    url = new_database(server)
    first = serve(folder / "a", url, "bench-a", port)
    second = serve(folder / "b", url, "bench-b", port + 10)
    try:
        flow = folder / "naps.json"
        flow.write_text(
            '{"id": "naps", "name": "naps", "nodes": [{"id": "nap", "action": "SleepFor",'
            ' "inputs": {"duration": 0.2}, "control": "LoopUntil", "params": {"loop_back":'
            ' "nap", "loop_out": "__end__", "var": 0, "value": 1, "loop_tries": 200}}]}'
        )
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "weboter.runtime.cli.main",
                "run",
                str(flow),
                "--json",
                "--engine",
                f"tcp://127.0.0.1:{port}",
            ],
            env={**os.environ, "WEBOTER_HOME": str(folder / "a")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log = EventLog(log_location(url, folder), create=False)
        try:
            deadline = time.monotonic() + 60
            while not log.runs(limit=1) or log.last_version(log.runs(limit=1)[0].run_id) < 10:
                _until(deadline, "the run to start", first, second)
            run_id = log.runs(limit=1)[0].run_id
            killed = time.perf_counter()
            first.send_signal(signal.SIGKILL)
            while not log.stored_of_types(run_id, ("RunResumed",)):
                _until(deadline + 30, "the other engine to take the run over", first, second)
            took = time.perf_counter() - killed
        finally:
            log.close()
        client.kill()
        client.wait()
        return took
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        close_pools()


def _until(deadline: float, what: str, *engines: subprocess.Popen[str]) -> None:
    """A bench, not a test: polls the log; gives up at `deadline`, with what the engines said."""
    if time.monotonic() > deadline:
        said = []
        for proc in engines:
            proc.kill()
            said.append(proc.communicate(timeout=20)[1][-2000:])
        raise SystemExit(f"gave up waiting for {what}; the engines said:\n" + "\n".join(said))
    time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--takeovers", type=int, default=3)
    args = parser.parse_args()
    server, started = os.environ.get("WEBOTER_BENCH_POSTGRES"), None
    if not server:
        server, started = pgcluster.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            figures: dict[str, dict[str, list[float]]] = {}
            for n in range(args.rounds):  # interleaved: SQLite, then PostgreSQL, each round
                for backend in ("sqlite", "postgresql"):

                    def where(name: str, backend: str = backend, n: int = n) -> Path:
                        if backend == "sqlite":
                            return folder / f"{name}-{n}.db"
                        return log_location(new_database(server), folder)

                    mine = figures.setdefault(backend, {})
                    for writers in (1, 4):
                        rate = appends_per_second(where(f"a{writers}"), args.appends, writers)
                        mine.setdefault(f"appends/s, {writers} writer(s)", []).append(rate)
                    per_node, _ = engine_run(where("n"), args.nodes, "sync")
                    mine.setdefault("µs per no-op node", []).append(per_node * 1e6)
                    close_pools()
                print(f"round {n + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            print(f"{'':32} {'SQLite':>10} {'PostgreSQL':>11} {'ratio':>7}")
            for name in figures["sqlite"]:
                lite = statistics.median(figures["sqlite"][name])
                pg = statistics.median(figures["postgresql"][name])
                print(f"{name:32} {lite:10.0f} {pg:11.0f} {pg / lite:6.2f}x")
            takes = [
                takeover_seconds(server, folder / f"t{i}", 47000 + 40 * i)
                for i in range(args.takeovers)
            ]
            print(
                f"takeover after SIGKILL (PostgreSQL, another host's engine): median "
                f"{statistics.median(takes):.1f} s, max {max(takes):.1f} s over {len(takes)}"
            )
    finally:
        if started is not None:
            pgcluster.stop(started)


if __name__ == "__main__":
    main()
