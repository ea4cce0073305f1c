"""Where things live and how durable they are. Environment first, then defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from weboter.runtime.ai.models import ModelConfig
from weboter.runtime.browser.evidence import EvidencePolicy
from weboter.runtime.core.admission import DEFAULT_MAX_QUEUE, DEFAULT_MAX_RUNS
from weboter.runtime.errors import UsageError
from weboter.runtime.store.eventlog import Durability
from weboter.runtime.store.location import log_location, weboter_home
from weboter.runtime.transport.security import CurveConfig
from weboter.schemas.workers import HEARTBEAT

T = TypeVar("T", int, float)

DEFAULT_MAX_NODES = 100_000


def home() -> Path:
    """`$WEBOTER_HOME`, else `./.weboter/`."""
    return weboter_home()


def default_db() -> Path:
    """`$WEBOTER_DB` (a file or a PostgreSQL URL), else `weboter.db` in the home folder."""
    chosen = os.environ.get("WEBOTER_DB")
    if chosen:
        return log_location(chosen, home())
    return home() / "weboter.db"


RestoreMode = Literal["auto", "captured", "redrive"]
RESTORE_MODES: tuple[RestoreMode, ...] = ("auto", "captured", "redrive")


def default_restore() -> RestoreMode:
    """`$WEBOTER_RESTORE` (auto, captured or redrive), else auto."""
    chosen = os.environ.get("WEBOTER_RESTORE") or "auto"
    for mode in RESTORE_MODES:
        if chosen == mode:
            return mode
    raise UsageError(
        f"WEBOTER_RESTORE={chosen!r} is not a restore mode",
        hint="use auto, captured or redrive (docs/debugging.md says what each costs)",
    )


def engine_gone_after() -> float:
    """`$WEBOTER_ENGINE_GONE_AFTER`: seconds a client of `weboter serve` waits for an engine
    that went silent before it says the engine is gone (default 20)."""
    return _from_env(
        "WEBOTER_ENGINE_GONE_AFTER",
        "20",
        float,
        lambda seconds: 3.0 < seconds < 86_400,
        "is not a number of seconds above 3",
        "give the seconds to wait for a silent engine, e.g. 20 (the default) or 120",
    )


def worker_heartbeat() -> float:
    """`$WEBOTER_HEARTBEAT`: seconds between the heartbeats an engine with workers and its
    workers send each other (default 2.5); a side not heard from for three is presumed gone,
    its runs' nodes placed again. Give the engine and its workers the same."""
    return _from_env(
        "WEBOTER_HEARTBEAT",
        str(HEARTBEAT),
        float,
        lambda seconds: 0.2 <= seconds <= 60,
        "is not a number of seconds from 0.2 to 60",
        f"give the seconds between heartbeats, e.g. {HEARTBEAT:g} (the default)",
    )


def _count(name: str, default: int, what: str) -> int:
    return _from_env(
        name,
        str(default),
        int,
        lambda number: 0 <= number <= 1_000_000,
        "is not a whole number from 0 to 1000000",
        f"give {what}, e.g. {default} (the default)",
    )


def _from_env(
    name: str,
    default: str,
    convert: Callable[[str], T],
    ok: Callable[[T], bool],
    said: str,
    hint: str,
) -> T:
    """`$name` (else `default`) as `convert` reads it; a UsageError (`name=value said`) when it
    cannot be read or `ok` refuses it."""
    chosen = os.environ.get(name) or default
    try:
        value = convert(chosen)
    except ValueError:
        raise UsageError(f"{name}={chosen!r} {said}", hint=hint) from None
    if not ok(value):
        raise UsageError(f"{name}={chosen!r} {said}", hint=hint)
    return value


def max_runs() -> int:
    """`$WEBOTER_MAX_RUNS`: runs an engine drives at once (default 16; 0: no limit); the
    others wait, QUEUED, in order (docs/scaling.md, "Runs at once")."""
    return _count("WEBOTER_MAX_RUNS", DEFAULT_MAX_RUNS, "the runs in progress at once (0: any)")


def max_queue() -> int:
    """`$WEBOTER_MAX_QUEUE`: runs that may wait for a slot (default 1000); a submission
    beyond is refused at once."""
    return _count("WEBOTER_MAX_QUEUE", DEFAULT_MAX_QUEUE, "the runs that may wait for a slot")


@dataclass
class Settings:
    db_path: Path = field(default_factory=default_db)
    durability: Durability = "sync"
    snapshot_every: int = 200
    bus_endpoints: list[str] = field(default_factory=list)  # extra PUB endpoints (tcp/ipc)
    command_endpoint: str | None = None  # ROUTER for remote clients
    catchup_endpoint: str | None = None  # ROUTER for catch-up requests
    # ROUTER for worker processes: set, nodes run in `weboter worker`s (actors/broker.py),
    # not in this process; they and it beat every `heartbeat` seconds ($WEBOTER_HEARTBEAT)
    workers_endpoint: str | None = None
    heartbeat: float = field(default_factory=worker_heartbeat)
    evidence: EvidencePolicy = "on_error"  # browser evidence: none | on_error | every_node
    browser: str | None = None  # a Chromium executable (else WEBOTER_BROWSER, then searched)
    # how a run's browser comes back in a runner that has none for it: auto | captured |
    # redrive (docs/debugging.md); default $WEBOTER_RESTORE, else auto
    browser_restore: RestoreMode = field(default_factory=default_restore)
    # CURVE for the listening sockets; required for anything bound beyond loopback
    curve: CurveConfig | None = None
    headless: bool = True
    # how actors of this process talk: "zmq" (the default; needed to listen for other
    # processes) or "memory" (one process, no sockets: tests of actors)
    transport: Literal["zmq", "memory"] = "zmq"
    # a run's node budget when its job names none: a loop that never ends fails there
    max_nodes: int = DEFAULT_MAX_NODES
    # runs driven at once (0: no limit); the others wait QUEUED, in order, at most max_queue
    # of them; beyond, a submission is refused at once ($WEBOTER_MAX_RUNS, $WEBOTER_MAX_QUEUE)
    max_runs: int = field(default_factory=max_runs)
    max_queue: int = field(default_factory=max_queue)
    on_error: str = ""  # a failing node's policy when neither job nor node says ("": fail)
    model: ModelConfig | None = None  # the AI gateway's model (None: from WEBOTER_AI_*)
    # where workflows write files (default: `workspace` beside the log), and folders allowed too
    workspace: Path | None = None
    allow_paths: list[Path] = field(default_factory=list)
    # the only hosts runs' pages and HTTP actions may reach (empty: any; a workflow's
    # allow_hosts narrows it further: runtime/core/hosts.py)
    allow_hosts: list[str] = field(default_factory=list)
    process: str = ""  # what a refusal calls this process ("`weboter run`")
    # seconds an asynchronous action (browser, HTTP, sleeping) may take when its node sets no
    # `timeout` (0: no limit)
    node_timeout: float = 600.0
