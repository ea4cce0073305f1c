"""`weboter serve`: an engine that stays up for clients in other processes.

Binds the command ROUTER at the given endpoint and, for tcp, the catch-up ROUTER and the event
PUB on the next two ports (`tcp://127.0.0.1:5600` -> 5600, 5601, 5602); for ipc, `.cmd`,
`.catchup` and `.events` beside the given path. With workers (`--workers`), nodes run in
`weboter worker` processes that connect to a fourth endpoint (5603, `.workers`). Prints the
endpoints (and the server's CURVE public key), then serves until SIGINT or SIGTERM; the runs
it still drives are parked: recorded as PAUSED (reason "the engine stopped": `ENGINE_STOPPED`),
and every run's browser is closed on the way out. When it starts again on the same log it
takes up the runs it was driving (`take_up`), whether it was stopped so or killed; until then
any process can `weboter continue` a parked run.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from zmq.utils import z85

from weboter.runtime.browser.evidence import EvidencePolicy
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import UsageError, WeboterError
from weboter.runtime.store.location import shared
from weboter.runtime.store.reading import Reader
from weboter.runtime.transport.bridge import is_loopback
from weboter.runtime.transport.security import CurveConfig, local_keys, say_serving, worker_keys
from weboter.schemas.events import ENGINE_STOPPED, RunCreated

_log = logging.getLogger(__name__)


def endpoints(base: str) -> dict[str, str]:
    """The command, catch-up and event endpoints derived from `base`."""
    parsed = urlparse(base)
    if parsed.scheme == "tcp" and parsed.port:
        host = parsed.hostname or "127.0.0.1"
        return {
            name: f"tcp://{host}:{parsed.port + i}"
            for i, name in enumerate(("commands", "catchup", "events", "workers"))
        }
    if parsed.scheme == "ipc":
        return {
            name: f"{base}.{suffix}"
            for name, suffix in (
                ("commands", "cmd"),
                ("catchup", "catchup"),
                ("events", "events"),
                ("workers", "workers"),
            )
        }
    raise UsageError(
        f"{base!r} is not an engine's address",
        hint="write tcp://HOST:PORT (the engine uses PORT and the next two, and the next three "
        "with workers) or ipc:///path",
    )


def read_curve(
    key_file: Path | None,
    allowed: list[str],
    home: Path,
    operators: tuple[str, ...] | list[str] = (),
    readers: tuple[str, ...] | list[str] = (),
    workers: tuple[str, ...] | list[str] | None = None,
) -> CurveConfig:
    """The engine's CURVE keys: from `key_file`, else the ones kept in `home/keys/` (made on
    first use), allowing the local client's key (an operator), `allowed` (each acts on its own
    runs), `operators` (act on every run) and `readers` (follow and catch up only); with
    `workers` (not None), those keys and keys/worker.json's may run nodes."""
    for option, keys in (
        ("--allow", allowed),
        ("--operator", operators),
        ("--reader", readers),
        ("--worker", workers or ()),
    ):
        for key in keys:
            _check_key(option, key)
    local, (local_client, _secret) = local_keys(home)
    server = local if key_file is None else _key_pair(key_file)
    # programs on this host (keys/client.json) are operators whichever server key is used
    everyone = server.allowing(*allowed).allowing(*operators, operator=True)
    everyone = everyone.allowing(*readers, reader=True)
    if workers is not None:
        everyone = everyone.allowing(*workers, worker_keys(home)[0], worker=True)
    return everyone.allowing(local_client, operator=True)


def _check_key(option: str, key: str) -> None:
    """A public key as `weboter keys` prints it: 40 Z85 characters."""
    try:
        ok = len(key) == 40 and len(z85.decode(key.encode())) == 32
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise UsageError(
            f"{option} {key[:60]!r}: not a public key (40 Z85 characters)",
            hint="give the `public` value of `weboter keys --json`, in quotes (Z85 keys hold "
            "characters the shell reads, such as > $ & ?)",
        )


def check_binding(base: str, key_file: Path | None) -> None:
    """Beyond loopback, the engine's keys must be chosen on purpose (`--curve-key`)."""
    if key_file is None and not is_loopback(base):
        raise UsageError(
            f"refusing to listen on {base} with keys made for this host's own clients",
            hint="pass --curve-key FILE and --allow CLIENT_PUBLIC_KEY for each remote client "
            "(weboter keys --out FILE makes a key pair)",
        )


def _key_pair(key_file: Path) -> CurveConfig:
    try:
        keys = json.loads(key_file.read_text())
        config = CurveConfig(public_key=keys["public"].encode(), secret_key=keys["secret"].encode())
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(
            f"--curve-key {key_file}: not a key file ({exc})",
            hint="make one with: weboter keys --out key.json",
        ) from exc
    return config


def serve(
    db_path: Path,
    base: str,
    *,
    env: EnvSource,
    curve: CurveConfig,
    ready: Any,
    stop: threading.Event | None = None,
    workers: bool = False,
    allow_hosts: list[str] | None = None,
    evidence: EvidencePolicy = "on_error",
    limits: dict[str, int] | None = None,
) -> None:
    """Run an engine until SIGINT/SIGTERM (or `stop` is set); `ready(info)` once it listens.
    `workers`: nodes run in `weboter worker` processes that connect to the fourth endpoint."""
    where = endpoints(base)
    if not workers:
        del where["workers"]
    settings = Settings(
        db_path=db_path,
        command_endpoint=where["commands"],
        catchup_endpoint=where["catchup"],
        bus_endpoints=[where["events"]],
        workers_endpoint=where.get("workers"),
        curve=curve,
        allow_hosts=list(allow_hosts or []),
        process="`weboter serve`",
        evidence=evidence,
    )
    for name, value in (limits or {}).items():  # max_runs, max_queue (else the environment's)
        setattr(settings, name, value)
    stop = stop or threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with Engine(settings, env=env) as engine:
            info: dict[str, Any] = dict(where)
            info["server_public_key"] = curve.public_key.decode()
            info["resumed"] = take_up(engine)
            say_serving(db_path.parent, curve.public_key)  # local clients find it, whatever key
            ready(info)
            # a shared log: runs another engine drove and left (it died, or stopped) are
            # taken up here within a second of being found (runtime/store/leases.py)
            sharing = shared(engine.db_path)
            while not stop.wait(TAKE_UP_SECONDS if sharing else 0.5):
                if sharing:
                    for run_id in take_up(engine, starting=False):
                        _log.info("run %s taken over: the engine that drove it is gone", run_id)
            # what it still drives is parked: taken up when it starts again (take_up)
            engine.pause_driven(ENGINE_STOPPED)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


TAKE_UP_SECONDS = 1.0  # a shared log: how often orphaned runs are looked for


def take_up(engine: Engine, *, starting: bool = True) -> list[str]:
    """Resume the runs a served engine was driving on this host when it stopped or died, so
    they go on after a restart. One rule for both (`EventLog.orphaned`): runs a client of an
    engine started (`RunCreated.client` is set) whose driving process on this host is gone,
    left RUNNING or STEPPING (it was killed) or PAUSED by its own stop (`ENGINE_STOPPED`; a
    pause a person asked for, or another process's, is not taken up). A killed engine's
    in-flight node runs again (at-least-once, as `weboter resume`), and so does a stopped
    one's (it was cut off). Runs that were QUEUED go last, in their queue's order, and wait
    for a slot again (`max_runs`) as the others take theirs. `$env` values their clients sent
    are not kept across a restart, so a run that needs them fails at its first such reference
    (its client resumes it instead)."""
    with Reader(engine.db_path) as log:
        queue = {run_id: i for i, (run_id, _ahead) in enumerate(log.queued())}
        orphans = sorted(log.orphaned(starting=starting), key=lambda r: queue.get(r, -1))
        found = [(run_id, log.state(run_id).version) for run_id in orphans if _served(log, run_id)]
    resumed: list[str] = []
    if not found:  # the usual answer, every second on a shared log: no client made for it
        return resumed
    with engine.client(follow=False) as client:
        for run_id, version in found:
            try:  # another process taking it up at the same time wins: expect_version
                client.resume(run_id, expect_version=version)
                resumed.append(run_id)
            except WeboterError as exc:
                _log.warning("serve: run %s not resumed: %s", run_id, exc)
    return resumed


def _served(log: Reader, run_id: str) -> bool:
    first = next(iter(log.decoded(log.events(run_id, limit=1))), None)
    if first is None or not isinstance(first.event, RunCreated):
        return False
    item_of = first.event.item_of
    if item_of is not None and not log.state(item_of.run).status.terminal:
        return False  # its parent's FanOut takes it up when the parent goes on
    return bool(first.event.client)
