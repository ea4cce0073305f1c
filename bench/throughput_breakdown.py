"""Where one Weboter run's memory goes, many runs at once: the bench shop scraped by
`weboter run` with 1 run and with N (evidence `on_error`, `none` and `every_node`), by N runs
through `serve --workers` and 2 workers, and by Crawlee at 1 and N pages at once; each tree's
PSS at its peak by kind of process (the browser process, renderers, the GPU and utility
processes, Playwright's node driver, Python) and CPU by kind, what one more run costs
((N runs - 1 run) / (N - 1)), and where the Weboter process's Python heap goes (tracemalloc, by
package: bench/throughput_traced.py), the log and artifacts on disk.

    python bench/throughput_breakdown.py [--products 96] [--per-page 6] [--parallel 8]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from throughput import Maker, Result, crawlee_job, interrupted, measure, weboter_job
from throughput_memory import become_subreaper, kill_tree
from throughput_shop import BenchShop


def configs(url: str, n: int, tmp: Path) -> list[tuple[str, Maker]]:
    return [
        ("weboter 1", weboter_job(url, 1)),
        (f"weboter {n}", weboter_job(url, n)),
        (f"weboter {n} none", weboter_job(url, n, "none")),
        (f"weboter {n} every", weboter_job(url, n, "every_node")),
        (f"weboter {n} nobfc", weboter_job(url, n, chromium="--disable-back-forward-cache")),
        (f"weboter {n} tabs", weboter_job(url, n, tabs=True)),
        (f"workers {n}", weboter_job(url, n, workers=2)),
        ("crawlee 1", crawlee_job(url, "1")),
        (f"crawlee {n}", crawlee_job(url, str(n))),
        (f"crawlee {n} lean", crawlee_job(url, str(n), lean=True)),
        ("traced 1", weboter_job(url, 1, traced=tmp / "traced-1.json")),
        (f"traced {n}", weboter_job(url, n, traced=tmp / f"traced-{n}.json")),
    ]


def table(results: list[Result], n: int) -> None:
    """PSS at the peak by kind of process, per config; and one more run's cost."""
    kinds = sorted({k for r in results for k in r.peak.at_pss}, key=lambda k: k.split()[0])
    names = [r.contender for r in results]
    print("\nPSS (MiB) at each tree's PSS peak, by kind (count x MiB):")
    print(f"  {'kind':<34}" + "".join(f"{c:>17}" for c in names))
    for k in kinds:
        cells = []
        for r in results:
            count, kib = r.peak.at_pss.get(k, (0, 0))
            cells.append(f"{count:>3}x {kib / 1024:7.1f}" if count else "-")
        print(f"  {k:<34}" + "".join(f"{c:>17}" for c in cells))
    for label, value in (
        ("peak PSS (MiB)", lambda r: r.peak.pss_kib / 1024),
        ("peak RSS (MiB)", lambda r: r.peak.rss_kib / 1024),
        ("pages/min", lambda r: r.per_min),
        ("CPU ms/page", lambda r: r.cpu / r.pages * 1000),
        ("on disk (MiB)", lambda r: r.disk_mib),
    ):
        print(f"  {label:<34}" + "".join(f"{value(r):>17.1f}" for r in results))
    print("\nCPU seconds by kind of process (as last seen, a scan a second):")
    for k in sorted({k for r in results for k in r.peak.cpu_by_kind}):
        cells = "".join(f"{r.peak.cpu_by_kind.get(k, 0.0):>17.1f}" for r in results)
        print(f"  {k:<34}{cells}")
    by_name = {r.contender: r for r in results}
    for who in ("weboter", "crawlee"):
        one, many = by_name.get(f"{who} 1"), by_name.get(f"{who} {n}")
        if one is None or many is None:
            continue
        print(f"\none more {who} page at once costs (PSS, MiB; ({n}) - (1)) / {n - 1}:")
        for k in kinds:
            extra = many.peak.at_pss.get(k, (0, 0))[1] - one.peak.at_pss.get(k, (0, 0))[1]
            if abs(extra) >= 1024:
                print(f"  {k:<34} {extra / 1024 / (n - 1):7.1f}")
        total = (many.peak.pss_kib - one.peak.pss_kib) / 1024 / (n - 1)
        print(f"  {'all':<34} {total:7.1f}")


def heap(tmp: Path, n: int) -> dict[str, Any]:
    found = {}
    for runs in (1, n):
        path = tmp / f"traced-{runs}.json"
        if path.exists():
            found[runs] = json.loads(path.read_text())
            print(
                f"\nPython heap of `weboter run` with {runs} run(s) at its largest (tracemalloc):"
            )
            traced, process = found[runs]["traced_mib"], found[runs].get("process_kib")
            print(f"  traced {traced:.1f} MiB; the process then (KiB): {process}")
            for package, mib in list(found[runs].get("by_package_mib", {}).items())[:14]:
                print(f"    {package:<40} {mib:7.2f} MiB")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=96)
    parser.add_argument("--per-page", type=int, default=6)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated config names to run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    become_subreaper()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupted)
    results: list[Result] = []
    logs = Path(tempfile.mkdtemp(prefix="throughput-breakdown-"))
    with BenchShop(args.products, args.per_page) as shop:
        print(f"breakdown: {args.products} products, {shop.pages} list pages; logs in {logs}")
        try:
            for name, make in configs(shop.url, args.parallel, logs):
                if args.only and name not in args.only.split(","):
                    continue
                results.append(measure(name, len(results), shop, make, logs))
                print(results[-1].line(), flush=True)
        except KeyboardInterrupt:
            kill_tree(grace=2.0)
            return 130
    table([r for r in results if not r.contender.startswith("traced")], args.parallel)
    found = heap(logs, args.parallel)
    if args.json:
        rows = [{**vars(r), "peak": vars(r.peak)} for r in results]
        args.json.write_text(json.dumps({"results": rows, "heap": found}, indent=1))
    return 0 if all(r.csv == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
