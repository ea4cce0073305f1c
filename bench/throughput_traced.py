"""`weboter ...` with tracemalloc on: where the Python heap of the process goes, by package.

    python bench/throughput_traced.py OUT.json run flow.json ... (any weboter arguments)

OUT `-`: no tracing. `WEBOTER_BENCH_CHROMIUM_ARGS` (space-separated) adds flags to the ones
Weboter launches Chromium with, for experiments (a flag Weboter does not pass, measured).

Every 3 s the traced size is read; when it is the largest yet, a snapshot is taken and its
sizes are summed by package (weboter's by layer, the others by top-level package, the standard
library by module). At exit the largest is written to OUT.json with the process's RSS/PSS at
that moment. tracemalloc slows Python down (~2x): use it to see where memory goes, not for
speed. What it does not see: memory of C libraries (SQLite's page cache, ZeroMQ, msgspec's
buffers), the interpreter itself, and pages of freed objects the allocator kept.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import tracemalloc
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
found: dict[str, Any] = {"traced_mib": 0.0}


def package_of(filename: str) -> str:
    """Who allocated: `weboter runtime/store`, `playwright`, `stdlib asyncio`, ..."""
    if filename.startswith(HERE) and "site-packages" not in filename:
        parts = os.path.relpath(filename, HERE).split(os.sep)
        return "weboter " + "/".join(parts[:2] if parts[0] == "runtime" else parts[:1])
    if "site-packages" in filename:
        return filename.split("site-packages" + os.sep, 1)[1].split(os.sep, 1)[0]
    if "/lib/python3" in filename:
        rest = filename.split("/lib/python3", 1)[1].split(os.sep)[1:]
        return "stdlib " + (rest[0].removesuffix(".py") if rest else "?")
    return filename


def rollup() -> dict[str, int]:
    """This process's RSS and PSS in KiB, now."""
    values = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("Rss", "Pss", "Anonymous", "Pss_Anon", "Pss_File"):
                values[key] = int(line.split()[1])
    return values


def watch(stop: threading.Event) -> None:
    while not stop.wait(3.0):
        current, _ = tracemalloc.get_traced_memory()
        if current / 2**20 <= found["traced_mib"]:
            continue
        by: Counter[str] = Counter()
        for stat in tracemalloc.take_snapshot().statistics("filename"):
            by[package_of(stat.traceback[0].filename)] += stat.size
        found.update(
            traced_mib=current / 2**20,
            by_package_mib={k: round(v / 2**20, 2) for k, v in by.most_common(25)},
            process_kib=rollup(),
        )


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    from weboter.runtime.browser.host import LAUNCH_ARGS  # noqa: PLC0415
    from weboter.runtime.cli.main import main as weboter  # noqa: PLC0415

    LAUNCH_ARGS.extend(os.environ.get("WEBOTER_BENCH_CHROMIUM_ARGS", "").split())
    if out == "-":
        return weboter(argv)
    tracemalloc.start(1)
    stop = threading.Event()
    threading.Thread(target=watch, args=(stop,), daemon=True).start()

    def write() -> None:
        stop.set()
        with open(out, "w") as f:
            json.dump(found, f, indent=1)

    atexit.register(write)

    return weboter(argv)


if __name__ == "__main__":
    sys.exit(main())
