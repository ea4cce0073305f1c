"""Runs per second with one worker and with two, on I/O-bound nodes: each run makes `--nodes`
HTTP GETs to a local endpoint that answers after 100 ms. The engine is `weboter serve
--workers`, each worker a `weboter worker` process (default capacity: 4 nodes at once), all real
processes on loopback; `--runs` runs are submitted at once, timed from the first submit to the
last run's end. Target: two workers at least 1.8x the runs/s of one.

Then one worker's browser capacity (docs/scaling.md): the demo shop scraped by 4 runs at once
on one worker; browser nodes per second, and CPU seconds per node of the worker with its
Chromium (from /proc: the processes carrying the worker's mark).

    python bench/workers.py [--runs 24] [--nodes 4] [--delay 0.1] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import zmq

from weboter.runtime.core.loader import load_workflow, to_workflow
from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import client_keys, connect_client
from weboter.schemas.messages import RunEnded, SubmitJob
from weboter.schemas.workflow import Workflow

SHOP_WORKFLOW = Path(__file__).parents[1] / "runtime" / "demo" / "shop_workflow.yaml"


class Slow(BaseHTTPRequestHandler):
    delay = 0.1

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.delay)  # not a sync: the endpoint's latency is what is measured
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def calls(url: str, nodes: int) -> Workflow:
    steps = [
        {
            "id": f"get{i}",
            "action": "HttpGet",
            "inputs": {"url": url},
            "control": "NextNode",
            "params": {"next_node": f"get{i + 1}" if i + 1 < nodes else "__end__"},
        }
        for i in range(nodes)
    ]
    return to_workflow({"id": "calls", "name": "I/O-bound calls", "nodes": steps}, "calls")


def free_port() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            for extra in (1, 2, 3):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port + extra))
            return port
        except OSError:
            continue
    raise RuntimeError("no free ports")


MARK = "WEBOTER_BENCH_WORKER"


def started(command: list[str], home: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A weboter process printing one JSON document when ready (marked in its environment)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", *command, "--json"],
        env={**os.environ, "WEBOTER_HOME": str(home), MARK: str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    text = ""
    for line in proc.stdout:
        text += line
        if line.rstrip() == "}":
            return proc, json.loads(text)
    raise RuntimeError(f"{command[0]} did not start")


def cpu_seconds(home: Path) -> float:
    """CPU time so far of the processes carrying `home`'s mark (their reaped children too)."""
    mark = f"{MARK}={home}".encode()
    ticks = 0
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or mark not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def batch(
    info: dict[str, Any],
    home: Path,
    workflow: Workflow,
    runs: int,
    variables: dict[str, Any] | None = None,
    env: dict[str, Any] | None = None,
) -> float:
    """Submit `runs` runs at once; seconds until every one has ended (COMPLETED)."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt_string(zmq.IDENTITY, "bench")
    connect_client(sock, *client_keys(home))
    sock.connect(info["commands"])
    begun = time.perf_counter()
    for i in range(runs):
        job = SubmitJob(
            command_id=f"job-{time.time_ns()}-{i}",
            workflow=workflow,
            reply_to="bench",
            variables={k: (f"{v}{i}" if k == "out" else v) for k, v in (variables or {}).items()},
            env=env or {},
        )
        sock.send_multipart([b"launcher", encode(job)])
    ended = 0
    while ended < runs:
        if not sock.poll(120_000):
            raise RuntimeError("the engine stopped answering")
        message = message_decoder.decode(sock.recv())
        if isinstance(message, RunEnded):
            if message.status != "COMPLETED":
                raise RuntimeError(f"run {message.run_id} ended {message.status}: {message.error}")
            ended += 1
    seconds = time.perf_counter() - begun
    sock.close(linger=0)
    return seconds


def process_cpu(pid: int) -> float:
    """CPU seconds one process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def measure(workers: int, args: argparse.Namespace, url: str) -> float:
    """Runs per second with `workers` worker processes (and the engine's CPU per node)."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        bind = f"tcp://127.0.0.1:{free_port()}"
        serve, info = started(["serve", "--bind", bind, "--workers"], home)
        crew = [
            started(["worker", "--connect", bind, "--name", f"w{i}"], home)[0]
            for i in range(workers)
        ]
        try:
            workflow = calls(url, args.nodes)
            batch(info, home, workflow, workers * 4)  # warm-up: every worker has run nodes
            before = process_cpu(serve.pid)
            seconds = batch(info, home, workflow, args.runs)
            engine_cpu = (process_cpu(serve.pid) - before) / (args.runs * args.nodes)
            print(f"  (engine CPU {engine_cpu * 1e6:.0f} µs per node)", flush=True)
        finally:
            for proc in [*crew, serve]:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
    return args.runs / seconds


def completed(home: Path) -> int:
    """Nodes completed so far in the engine's log."""
    with sqlite3.connect(home / "weboter.db") as db:
        (count,) = db.execute("SELECT count(*) FROM events WHERE type = 'NodeCompleted'").fetchone()
    return int(count)


def browser_capacity(runs: int) -> None:
    """The demo shop scraped by `runs` runs at once on one worker (separate processes for the
    engine and the worker: only the worker's CPU is counted)."""
    with tempfile.TemporaryDirectory() as folder, ShopServer() as shop:
        home = Path(folder)
        bind = f"tcp://127.0.0.1:{free_port()}"
        serve, info = started(["serve", "--bind", bind, "--workers"], home)
        worker_home = home / "worker"
        worker_home.mkdir()
        keys = ["--server-key", info["server_public_key"], "--curve-key"]
        keys.append(str(home / "keys" / "worker.json"))  # the engine's home let it in
        worker, _ = started(["worker", "--connect", bind, *keys], worker_home)
        try:
            workflow = load_workflow(SHOP_WORKFLOW)
            variables = {"base_url": shop.url, "rows": [], "out": "shop"}
            env = {"shop": {"user": USER, "password": PASSWORD}}
            batch(info, home, workflow, 1, variables, env)  # warm-up: Chromium started
            before, done = cpu_seconds(worker_home), completed(home)
            seconds = batch(info, home, workflow, runs, variables, env)
            cpu = cpu_seconds(worker_home) - before
            nodes = completed(home) - done
        finally:
            for proc in (worker, serve):
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        print(f"browser: the demo shop x {runs} runs at once on one worker ({nodes} nodes)")
        print(f"  {nodes / seconds:6.1f} nodes/s, {cpu / nodes * 1000:5.1f} ms CPU per node")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--no-browser", action="store_true", help="skip the browser part")
    args = parser.parse_args()
    Slow.delay = args.delay
    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    endpoint.daemon_threads = True
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{endpoint.server_address[1]}/answer"
    print(f"workers: {args.runs} runs x {args.nodes} GETs of {args.delay * 1000:.0f} ms each")
    one = measure(1, args, url)
    print(f"  1 worker : {one:6.2f} runs/s", flush=True)
    two = measure(2, args, url)
    print(f"  2 workers: {two:6.2f} runs/s", flush=True)
    ratio = two / one
    print(f"  2 vs 1   : {ratio:.2f}x (target >= 1.8x)  {'ok' if ratio >= 1.8 else 'BELOW TARGET'}")
    endpoint.shutdown()
    if not args.no_browser:
        browser_capacity(4)


if __name__ == "__main__":
    main()
