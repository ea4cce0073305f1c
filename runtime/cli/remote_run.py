"""`weboter run FILE --engine tcp://HOST:PORT`: the run goes to an engine that `weboter serve`
keeps up (here or on another machine) instead of one started in this process. Progress, the
summary and the exit code are the same; what the run came to is read back from that engine.
The wait goes on across a restart of the engine (it takes the run up); an engine that does not
come back is reported within `$WEBOTER_ENGINE_GONE_AFTER` seconds (runtime/engine/watch.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from weboter.runtime.cli.common import db_path
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.remote import RemoteEngine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.location import log_label


def add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        metavar="ENDPOINT",
        help="run on the engine `weboter serve` keeps up at ENDPOINT (its --bind) instead of "
        "in this process; $env values come from --env-file (sent with the run, never logged)",
    )
    p.add_argument(
        "--curve-key",
        type=Path,
        metavar="FILE",
        help="with --engine: this client's key pair (default: keys/client.json beside the log)",
    )
    p.add_argument(
        "--server-key",
        metavar="KEY_OR_FILE",
        help="with --engine: the engine's public key (Z85, as serve prints it), a key file, or "
        "the engine's keys/serving.pub (default: the one beside the log)",
    )


def engine_for(
    args: argparse.Namespace, settings: Settings, env: EnvSource
) -> Engine | RemoteEngine:
    """The engine the runs go to: the one at --engine, else one started here."""
    endpoint = getattr(args, "engine", None)
    if not endpoint:
        return Engine(settings, env=env).start()
    from weboter.runtime.cli.keys import key_pair, server_key  # noqa: PLC0415
    from weboter.runtime.transport.security import local_keys  # noqa: PLC0415

    home = db_path(args).parent
    public, secret = key_pair(args.curve_key) if args.curve_key else local_keys(home)[1]
    keys = (server_key(args.server_key, home), public, secret)
    notice = None if getattr(args, "quiet", False) else _say
    return RemoteEngine(endpoint, keys, notice=notice).start()


def _say(text: str) -> None:
    """What happens to the engine while a run waits on it (it went silent, came back)."""
    print(text, file=sys.stderr, flush=True)


def summary_source(engine: Engine | RemoteEngine) -> Any:
    """`run_id -> (state, events)` of the engine the runs went to (None: read the local log)."""
    return engine.state_of if isinstance(engine, RemoteEngine) else None


def where(engine: Engine | RemoteEngine) -> str:
    if isinstance(engine, RemoteEngine):
        return f"engine {engine.base}"
    return f"log {log_label(engine.db_path)}"


def remote_job(args: argparse.Namespace, env: EnvSource) -> dict[str, Any]:
    """What a run sent to another engine carries besides its workflow: the --env-file values,
    --on-error and --evidence, when given (this process's other engine options are that
    engine's and its workers')."""
    if not getattr(args, "engine", None):
        return {}
    return {
        "env": env.own(),
        "on_error": getattr(args, "on_error", None) or None,
        "evidence": getattr(args, "evidence", None),
    }
