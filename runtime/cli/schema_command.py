"""`weboter schema workflow|protocol`: JSON Schemas for editors, AI clients and programs that
speak to an engine in another language (docs/protocol.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import msgspec

from weboter.schemas.events import Event
from weboter.schemas.messages import Message
from weboter.schemas.stream import CaughtUp, EventHeader, Heartbeat
from weboter.schemas.workers import RunLease, WorkerReady
from weboter.schemas.workflow import Workflow


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "schema",
        parents=[common],
        help="print a JSON Schema: of the workflow format, or of the wire protocol",
        description="workflow: the format of a workflow file (for editors and AI clients). "
        "protocol: every message a client sends or receives, every event of the log, and "
        "the event stream's header, catch-up item and heartbeat, and what workers and the "
        "engine say to each other (docs/protocol.md).",
    )
    p.add_argument("what", choices=("workflow", "protocol"))
    p.set_defaults(handler=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(json.dumps(schema_of(args.what), indent=2) + "\n")
    return 0


def schema_of(what: str) -> dict[str, Any]:
    if what == "workflow":
        return msgspec.json.schema(Workflow)
    parts = (Message, Event, EventHeader, CaughtUp, Heartbeat, WorkerReady, RunLease)
    found, defs = msgspec.json.schema_components(parts, ref_template="#/$defs/{name}")
    names = ["message", "event", "event_header", "caught_up", "heartbeat"]
    names += ["worker_ready", "run_lease"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Weboter wire protocol (msgpack maps; see docs/protocol.md)",
        "description": "A message or event is a map whose `type` names it; fields at their "
        "default are left out. `message`: what clients and actors exchange; `event`: what the "
        "log stores and the stream publishes; `event_header`, `caught_up`, `heartbeat`: the "
        "stream's frames; `worker_ready`, `run_lease`: the worker endpoint's.",
        "$defs": defs,
        "properties": dict(zip(names, found, strict=True)),
    }
