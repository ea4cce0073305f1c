"""Many runs at once: pages per minute and peak memory of a whole scrape, Weboter against
Crawlee for Python (PlaywrightCrawler), the same shop, the same Chromium, N pages at once.

The shop (bench/throughput_shop.py) serves `--products` product pages on list pages of 20,
each page answering after 20-200 ms (seeded: the same for every contender). Every contender
scrapes every product's name, price and stock into CSV, in a process of its own, headless,
on /usr/bin/chromium:

  weboter          `weboter run shard0.json ... --parallel N`: N runs at once in one engine (one
                   Chromium, a context per run), durability `sync`, evidence `on_error`
  weboter-every    the same with `--evidence every_node` (`weboter ui`'s default; `weboter
                   run`'s is on_error)
  weboter-fanout   ONE run: the list pages one after the other, then a `FanOut` over every
                   product, N at once, in tabs of the run's one context (bench/throughput_fanout.py)
  workers          `weboter serve --workers`, 2 `weboter worker`s (capacity N/2 each) and
                   `weboter run --engine ... --parallel N` (the cluster's start is not timed)
  workers1         the same with 1 worker of capacity N (how pages/min grow with workers)
  crawlee          PlaywrightCrawler, N pages at once (min = desired = max concurrency = N)
  crawlee-auto     PlaywrightCrawler at its own autoscaled defaults
  crawlee-lean     `crawlee` on a Chromium launched with Weboter's --disable-features (no WebUI
                   omnibox popup renderer per window: runtime/browser/lean.py)

Pages = product pages + list pages of the site (the same number for all). Per contender and
round: pages/min over the process's whole life (start-up included, as a user waits) and over
the site's span (first request to last answer), peak memory of its process tree (sum of RSS
every 0.2 s; sum of PSS every second, with what it is made of: bench/throughput_memory.py),
and the CSV checked: every product exactly once. Rounds interleave the contenders (the order
reversed every other round: this machine's speed drifts); the ratios are medians of each
round's Weboter/Crawlee. Needs the `bench` extra: `just bench-throughput`.

    python bench/throughput.py [--products 500] [--parallel 8] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from throughput_fanout import fanout_job
from throughput_memory import Peak, Sampler, become_subreaper, kill_tree
from throughput_shop import BenchShop, check
from throughput_weboter import cluster, run_command, write_shards

BENCH = Path(__file__).parent
BROWSER = "/usr/bin/chromium"
ALL = (
    "weboter",
    "weboter-every",
    "weboter-fanout",
    "workers",
    "workers1",
    "crawlee",
    "crawlee-auto",
    "crawlee-lean",
)
TIMEOUT = 1800  # seconds one scrape may take
Job = tuple[list[str], dict[str, str], Callable[[], list[Path]]]  # command, env, its CSVs
Maker = Callable[[Path, TextIO], Job]  # (a temporary folder, the log) -> the job


@dataclass
class Result:
    contender: str
    round: int
    seconds: float
    span: float
    pages: int
    requests: int
    csv: str
    cpu: float = 0.0  # CPU seconds of the whole tree (every process it started, reaped)
    disk_mib: float = 0.0  # what it left on disk: the log, artifacts, Crawlee's storage, CSVs
    tail: float = 0.0  # the part of the span the last 10% of the answers took
    peak: Peak = field(default_factory=Peak)

    @property
    def per_min(self) -> float:
        return self.pages / self.seconds * 60

    @property
    def per_min_span(self) -> float:
        return self.pages / max(self.span, 1e-9) * 60

    def line(self) -> str:
        mib = 1024
        return (
            f"  {self.contender:<13} {self.per_min:7.1f} pages/min ({self.per_min_span:6.1f} "
            f"over the site's span)  {self.seconds:6.1f} s  peak RSS {self.peak.rss_kib / mib:6.0f}"
            f" MiB  PSS {self.peak.pss_kib / mib:6.0f} MiB  {self.peak.processes:2d} proc  "
            f"CPU {self.cpu / self.pages * 1000:4.0f} ms/page  disk {self.disk_mib:5.1f} MiB  "
            f"last 10% of pages in {self.tail:4.0%} of the span  {self.requests} requests  "
            f"CSV {self.csv}"
        )


def weboter_job(
    url: str,
    runs: int,
    evidence: str = "on_error",
    workers: int = 0,
    traced: Path | None = None,
    chromium: str = "",
    tabs: bool = False,
) -> Maker:
    """`weboter run` of `runs` shards at once, in its own engine or (`workers` > 0) through
    `serve --workers` and that many workers; `traced`: with tracemalloc, its findings there;
    `chromium`: flags added to Chromium's (an experiment: bench/throughput_traced.py);
    `tabs`: each product in a tab of its own, closed after."""

    def make(tmp: Path, log: TextIO) -> Job:
        home = tmp / "home"
        home.mkdir()
        command = run_command(write_shards(tmp, runs, tabs), url, runs, evidence)
        if traced is not None or chromium:
            wrapper = [sys.executable, str(BENCH / "throughput_traced.py"), str(traced or "-")]
            command[:3] = wrapper
        if workers:
            capacity = max(1, -(-runs // workers))
            command += ["--engine", cluster(home, workers, capacity, evidence, log)]
        env = {**os.environ, "WEBOTER_HOME": str(home), "WEBOTER_BROWSER": BROWSER}
        env["WEBOTER_BENCH_CHROMIUM_ARGS"] = chromium
        return command, env, lambda: sorted((home / "workspace").glob("shard*.csv"))

    return make


def crawlee_job(url: str, concurrency: str, lean: bool = False) -> Maker:
    """Crawlee's PlaywrightCrawler, `concurrency` pages at once (or "auto"); `lean`: its
    Chromium launched with Weboter's --disable-features (runtime/browser/lean.py)."""

    def make(tmp: Path, log: TextIO) -> Job:
        out = tmp / "crawlee.csv"
        command = [sys.executable, str(BENCH / "throughput_crawlee.py"), url, str(out)]
        command += ["--concurrency", concurrency, "--browser", BROWSER]
        command += ["--lean"] if lean else []
        env = {**os.environ, "CRAWLEE_STORAGE_DIR": str(tmp / "storage")}
        return command, env, lambda: [out] if out.exists() else []

    return make


def contender(name: str, args: argparse.Namespace, url: str) -> Maker:
    if name == "crawlee":
        return crawlee_job(url, str(args.parallel))
    if name == "crawlee-auto":
        return crawlee_job(url, "auto")
    if name == "crawlee-lean":
        return crawlee_job(url, str(args.parallel), lean=True)
    if name == "weboter-fanout":
        return fanout_job(url, args.parallel)
    evidence = "every_node" if name == "weboter-every" else "on_error"
    workers = {"workers": 2, "workers1": 1}.get(name, 0)
    return weboter_job(url, args.parallel, evidence, workers=workers)


def measure(name: str, number: int, shop: BenchShop, make: Maker, logs: Path) -> Result:
    """One contender's scrape, timed and sampled; everything it started is gone after."""
    shop.reset()
    cpu = children_cpu()
    with tempfile.TemporaryDirectory(prefix="throughput-") as folder:
        tmp = Path(folder)
        log = (logs / f"{number:02d}-{name}.log").open("w")
        try:
            command, env, outputs = make(tmp, log)
            print("$", " ".join(command), file=log, flush=True)
            sampler = Sampler()
            sampler.start()
            began = time.monotonic()
            try:
                done = subprocess.run(
                    command,
                    env=env,
                    stdout=log,
                    stderr=log,
                    timeout=TIMEOUT,
                    check=False,
                    start_new_session=True,  # a signal to its group never reaches the bench
                )
            finally:
                seconds = time.monotonic() - began
                peak = sampler.stop()
            verdict = check(shop, outputs()) if done.returncode == 0 else f"exit {done.returncode}"
            disk = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()) / 2**20
        finally:
            kill_tree()
            log.close()
    pages = len(shop.products) + shop.pages
    requests = sum(shop.hits.values())
    cpu = children_cpu() - cpu
    return Result(
        name, number, seconds, shop.span(), pages, requests, verdict, cpu, disk, shop.tail(), peak
    )


def children_cpu() -> float:
    """CPU seconds of every descendant reaped so far (orphans come to this subreaper)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def medians(results: list[Result], name: str) -> dict[str, float]:
    mine = [r for r in results if r.contender == name]
    return {
        "pages_per_min": statistics.median(r.per_min for r in mine),
        "pages_per_min_span": statistics.median(r.per_min_span for r in mine),
        "peak_rss_mib": statistics.median(r.peak.rss_kib for r in mine) / 1024,
        "peak_pss_mib": statistics.median(r.peak.pss_kib for r in mine) / 1024,
        "cpu_ms_per_page": statistics.median(r.cpu / r.pages for r in mine) * 1000,
    }


def ratio(results: list[Result], mine: str, theirs: str, value: Callable[[Result], float]) -> float:
    """Median over rounds of mine/theirs, each round's pair measured minutes apart."""
    by_round = {(r.contender, r.round): value(r) for r in results}
    rounds = sorted({r.round for r in results})
    pairs = [(by_round.get((mine, n)), by_round.get((theirs, n))) for n in rounds]
    return statistics.median(a / b for a, b in pairs if a is not None and b)


def summary(results: list[Result], contenders: list[str]) -> None:
    print("\nmedians:")
    for name in contenders:
        m = medians(results, name)
        print(
            f"  {name:<13} {m['pages_per_min']:7.1f} pages/min ({m['pages_per_min_span']:6.1f} "
            f"over the span)  peak RSS {m['peak_rss_mib']:6.0f} MiB  "
            f"PSS {m['peak_pss_mib']:6.0f} MiB  CPU {m['cpu_ms_per_page']:4.0f} ms/page"
        )
    peers = [c for c in contenders if c.startswith("crawlee")]
    mine = [c for c in contenders if not c.startswith("crawlee")]
    if peers and mine:
        print(
            "ratios Weboter/Crawlee (medians of each round's; pages/min: >= 1 is ahead; "
            "memory: <= 1 is ahead):"
        )
    for peer in peers:
        for name in mine:
            speed = ratio(results, name, peer, lambda r: r.per_min)
            span = ratio(results, name, peer, lambda r: r.per_min_span)
            rss = ratio(results, name, peer, lambda r: r.peak.rss_kib)
            pss = ratio(results, name, peer, lambda r: r.peak.pss_kib)
            print(
                f"  {name:<13} / {peer:<12} pages/min {speed:5.2f} (span {span:5.2f})  "
                f"peak RSS {rss:5.2f}  PSS {pss:5.2f}"
            )


def breakdown(results: list[Result], contenders: list[str]) -> None:
    """What each contender's tree was made of at its PSS peak (its last round)."""
    print("\nat the PSS peak (last round), by kind of process: count x, MiB PSS")
    for name in contenders:
        last = [r for r in results if r.contender == name][-1]
        parts = sorted(last.peak.at_pss.items(), key=lambda kv: -kv[1][1])
        text = ", ".join(f"{k} {n}x {kib / 1024:.0f}" for k, (n, kib) in parts)
        print(f"  {name:<13} {text}")
        spent = ", ".join(f"{k} {s:.0f}" for k, s in last.peak.cpu_by_kind.items() if s >= 1)
        print(f"  {'':<13} CPU s by kind: {spent}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--per-page", type=int, default=20, help="products per list page")
    parser.add_argument("--parallel", type=int, default=8, help="pages (runs) at once: N")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--contenders", default="weboter,weboter-fanout,workers,crawlee,crawlee-auto"
    )
    parser.add_argument("--quick", action="store_true", help="40 products, 1 round: a smoke test")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--logs", type=Path, help="the contenders' output (default: a temp dir)")
    args = parser.parse_args()
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = [c for c in args.contenders if c not in ALL]
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose from {', '.join(ALL)}")
    if args.quick:
        args.products, args.per_page, args.rounds = 40, 5, 1
    args.logs = args.logs or Path(tempfile.mkdtemp(prefix="throughput-logs-"))
    args.logs.mkdir(parents=True, exist_ok=True)
    return args


def interrupted(signum: int, _: Any) -> None:
    print(f"bench: got {signal.Signals(signum).name}", file=sys.stderr, flush=True)
    raise KeyboardInterrupt  # SIGTERM ends the bench as Ctrl-C does: its processes with it


def main() -> int:
    args = parse()
    if any(c.startswith("crawlee") for c in args.contenders):
        try:
            import crawlee  # noqa: F401, PLC0415
        except ImportError:
            sys.exit("bench/throughput.py needs Crawlee: pip install -e '.[bench]'")
    become_subreaper()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupted)
    results: list[Result] = []
    with BenchShop(args.products, args.per_page) as shop:
        print(
            f"throughput: {args.products} products on {shop.pages} list pages of "
            f"{args.per_page} (20-200 ms each), "
            f"{args.parallel} at once, {args.rounds} round(s); {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.1f}; logs in {args.logs}",
            flush=True,
        )
        try:
            for n in range(args.rounds):
                order = args.contenders if n % 2 == 0 else args.contenders[::-1]
                print(f"round {n + 1}:", flush=True)
                for name in order:
                    make = contender(name, args, shop.url)
                    results.append(measure(name, n, shop, make, args.logs))
                    print(results[-1].line(), flush=True)
        except KeyboardInterrupt:
            print("interrupted: the contenders' processes are ended", file=sys.stderr)
            kill_tree(grace=2.0)
            return 130
    summary(results, args.contenders)
    breakdown(results, args.contenders)
    if args.json:
        rows = [
            {**asdict(r), "per_min": r.per_min, "per_min_span": r.per_min_span} for r in results
        ]
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"logs": str(args.logs)}, "results": rows},
                indent=1,
                default=str,
            )
        )
    bad = [r for r in results if r.csv != "ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
