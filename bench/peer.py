"""Weboter against a peer, LangGraph + SqliteSaver, on the same loop, each run as its users
run it, in the same run of this script (needs the `peer` extra: `just bench-peer`).

The loop: one node adds 1 to a counter (`PyEvalAction param1 + 1`) and goes back to itself
until the counter reaches N (`IfElse`). Weboter: `weboter run loop.json` as a whole process
(the default durability: every node committed before the next starts). LangGraph: a
`StateGraph` with the same node and a conditional edge back to it, compiled with a
`SqliteSaver` checkpointer, `invoke` with the given `durability` (`sync`: every step saved
before the next; `async`: saved while the next runs; `exit`: once at the end), in a whole
process too. Weboter's `sync` is compared with LangGraph's `sync`; its `batch` (commits
grouped over <= 100 commands / 20 ms) with LangGraph's `async` and `exit`. Per-node cost:
(T(N_big) - T(N_small)) / (N_big - N_small), which takes the processes' start-up out; each
time is the best of `--repeat` runs.

    python bench/peer.py [--small 500] [--big 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LANGGRAPH = r"""
import sqlite3, sys
from typing import TypedDict
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

class State(TypedDict):
    count: int

limit, path, durability = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def inc(state: State) -> State:
    return {"count": state["count"] + 1}

def again(state: State) -> str:
    return "inc" if state["count"] < limit else END

graph = StateGraph(State)
graph.add_node("inc", inc)
graph.add_edge(START, "inc")
graph.add_conditional_edges("inc", again)
saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
app = graph.compile(checkpointer=saver)
config = {"configurable": {"thread_id": "bench"}, "recursion_limit": limit + 10}
out = app.invoke({"count": 0}, config, durability=durability)
assert out["count"] == limit, out
"""


def loop(limit: int) -> dict[str, object]:
    return {
        "id": "loop",
        "name": "count to N",
        "nodes": [
            {
                "id": "inc",
                "action": "PyEvalAction",
                "inputs": {"expr": "param1 + 1", "param1": "$global{count}"},
                "outputs": [{"src": "result", "name": "count", "pos": "global"}],
                "control": "IfElse",
                "params": {
                    "var": "$global{count}",
                    "operator": "lt",
                    "value": limit,
                    "then_node": "inc",
                    "else_node": "__end__",
                },
            }
        ],
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {done.stderr[-1500:]}")
    return took


def weboter_time(limit: int, folder: Path, durability: str) -> float:
    flow = folder / f"loop-{limit}.json"
    flow.write_text(json.dumps(loop(limit)))
    home = folder / f"home-{limit}-{time.perf_counter_ns()}"
    env = {**os.environ, "WEBOTER_HOME": str(home)}
    command = [sys.executable, "-m", "weboter.runtime.cli.main", "run", str(flow), "--quiet"]
    command += ["--var", "count=0", "--max-nodes", str(limit + 10)]
    if durability != "sync":
        command += ["--durability", durability]
    return timed(command, env)


def langgraph_time(limit: int, folder: Path, durability: str) -> float:
    path = folder / f"lg-{limit}-{time.perf_counter_ns()}.db"
    command = [sys.executable, "-c", LANGGRAPH, str(limit), str(path), durability]
    return timed(command, dict(os.environ))


def per_node(measure: Any, durability: str, args: argparse.Namespace, folder: Path) -> float:
    """µs per node: the best time at `big` minus the best at `small`, per node between. The
    best of several, not the median: a process's start-up on this machine varies by 0.3 s
    from one run to the next, and noise only ever adds time."""
    lows = [measure(args.small, folder, durability) for _ in range(args.repeat)]
    highs = [measure(args.big, folder, durability) for _ in range(args.repeat)]
    return (min(highs) - min(lows)) / (args.big - args.small) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--big", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import langgraph  # noqa: F401, PLC0415
    except ImportError:
        sys.exit("bench/peer.py needs LangGraph: pip install -e '.[peer]' (or: just bench-peer)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"peer: a loop of {args.small} and {args.big} nodes, whole processes")
        mine = per_node(weboter_time, "sync", args, folder)
        peer = per_node(langgraph_time, "sync", args, folder)
        print("  every node committed before the next (nothing lost when the process is killed):")
        print(f"    weboter (sync)         {mine:8.1f} µs/node")
        print(f"    langgraph (sync)       {peer:8.1f} µs/node")
        print(f"    ratio                  {mine / peer:8.2f}   (goal <= 0.20)", flush=True)
        grouped = per_node(weboter_time, "batch", args, folder)
        print("  commits behind the run (a crash re-runs the last window):")
        print(f"    weboter (batch)        {grouped:8.1f} µs/node")
        for theirs in ("async", "exit"):
            peer = per_node(langgraph_time, theirs, args, folder)
            print(f"    langgraph ({theirs:<5})      {peer:8.1f} µs/node", end="")
            print(f"   ratio {grouped / peer:5.2f}", flush=True)


if __name__ == "__main__":
    main()
