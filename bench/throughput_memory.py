"""Memory of this process's descendants (the contender and everything it started, Chromium
included), sampled from /proc while a contender runs; and the end of them all.

This process becomes a child subreaper (prctl), so a process whose parent dies (Chromium's
crashpad handler, a daemonised helper) is re-parented to it, not to init: it stays in the tree,
is counted, and is killed at the end.

RSS (resident pages, /proc/PID/statm) is summed every 0.2 s over the processes known; who is
in the tree is looked up once a second (a scan of /proc costs ~20 ms here), and then PSS
(/proc/PID/smaps_rollup: shared pages divided among the processes that share them) is summed
too, by kind of process. RSS over-counts what Chromium's processes share (its binary, fonts,
shared memory between browser and renderers), so the sum of RSS is above what the machine
really gives; PSS adds up to it. Both are reported: RSS as seen from outside (`ps`, the
issue's figures), PSS as the honest sum.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def descendants(root: int | None = None) -> list[int]:
    """Every live process below `root` (default: this one)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                parent = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kind(pid: int) -> str:
    """What a process is, from its command line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            # Chromium's children rewrite theirs as one string: split on spaces too
            argv = f.read().decode(errors="replace").replace("\0", " ").split()
    except OSError:
        return "gone"
    if not argv:
        return "gone"
    line = " ".join(argv)
    if "chrom" in argv[0] or "chrome" in line.split(" --", 1)[0]:
        if "crashpad" in os.path.basename(argv[0]):
            return "chromium crashpad"
        typed = next((a[7:] for a in argv if a.startswith("--type=")), None)
        if typed == "utility":  # which service: network, storage, audio ...
            service = next((a for a in argv if a.startswith("--utility-sub-type=")), "")
            typed = f"utility {service.rsplit('.', 1)[-1]}".rstrip()
        return f"chromium {typed}" if typed else "chromium browser"
    if "node" in os.path.basename(argv[0]):
        return "playwright driver (node)"
    if "throughput_traced.py" in line:  # weboter under the bench's wrapper
        return "python weboter run"
    for word in ("serve", "worker", "run"):
        if f"cli.main {word}" in line or f"weboter {word}" in line:
            return f"python weboter {word}"
    return "python crawlee" if "crawlee" in line else f"other ({os.path.basename(argv[0])})"


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU of a process so far, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


@dataclass
class Peak:
    """The largest sums seen, and what the tree was made of at the PSS peak."""

    rss_kib: int = 0
    pss_kib: int = 0
    processes: int = 0
    at_pss: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (count, kib)
    # CPU seconds by kind, as last seen (a scan a second: the last second of each is lost)
    cpu_by_kind: dict[str, float] = field(default_factory=dict)


class Sampler(threading.Thread):
    """Samples the tree below this process until stopped; `peak` holds the result."""

    def __init__(self, every: float = 0.2, scan_every: float = 1.0) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.every, self.scan_every = every, scan_every
        self.peak = Peak()
        self._stop_event = threading.Event()
        self._cpu: dict[int, tuple[str, int]] = {}  # pid -> (kind, CPU ticks)

    def run(self) -> None:
        last_scan = 0.0
        pids: list[int] = []
        while not self._stop_event.is_set():
            now = time.monotonic()
            if now - last_scan >= self.scan_every:
                pids, last_scan = descendants(), now
                self._pss(pids)
            total = sum(rss_kib(p) for p in pids)
            self.peak.rss_kib = max(self.peak.rss_kib, total)
            self.peak.processes = max(self.peak.processes, len(pids))
            self._stop_event.wait(self.every)

    def _pss(self, pids: list[int]) -> None:
        by_kind: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for pid in pids:  # looked at each time: a child forked is its parent until it execs
            what = kind(pid)
            by_kind[what] += pss_kib(pid)
            counts[what] += 1
            ticks = cpu_ticks(pid)
            if ticks is not None:  # an ended one (a zombie has no command line) keeps its kind
                known = self._cpu.get(pid, ("gone", 0))[0]
                self._cpu[pid] = (known if what == "gone" else what, ticks)
        total = sum(by_kind.values())
        if total > self.peak.pss_kib:
            self.peak.pss_kib = total
            self.peak.at_pss = {k: (counts[k], by_kind[k]) for k in by_kind}

    def stop(self) -> Peak:
        self._stop_event.set()
        self.join(5)
        spent: Counter[str] = Counter()
        for what, ticks in self._cpu.values():
            spent[what] += ticks
        hertz = os.sysconf("SC_CLK_TCK")
        self.peak.cpu_by_kind = {k: v / hertz for k, v in spent.most_common()}
        return self.peak


def kill_tree(grace: float = 5.0) -> None:
    """SIGTERM every descendant of this process, then SIGKILL what is left after `grace`
    seconds; reap them (this process is their subreaper)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = descendants()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            reap()
            pids = descendants()
            time.sleep(0.1)
    reap()


def reap() -> None:
    """Collect the exit status of every child that ended (orphans re-parented here too)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
