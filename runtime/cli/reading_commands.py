"""The commands that read a run from the log: `runs` (the list), `history` (its events),
`state` (where it is, its variables, what comes next)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import msgspec

from weboter.runtime.actions import default_catalog
from weboter.runtime.cli.common import open_log, out
from weboter.runtime.cli.detail import detail
from weboter.runtime.core.explain import next_step
from weboter.runtime.core.items import item_from_source
from weboter.runtime.errors import LogCorrupt
from weboter.runtime.store.views import event_body


def cmd_runs(args: argparse.Namespace) -> int:
    with open_log(args) as log:
        runs = log.runs(args.limit)
        ahead = dict(log.queued())  # a QUEUED run: how many its engine starts before it
    lines = [f"{'RUN':<18}{'STATUS':<11}{'EVENTS':>7}  {'CREATED':<20}WORKFLOW"]
    for r in runs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at))
        item = item_from_source(r.source)  # a FanOut's item run
        fork = f"  (fork of {r.parent_run[:8]})" if r.parent_run else ""
        fork = f"  (item {item['item']} of {item['run'][:8]})" if item else fork
        queued = f"  (queued, {ahead[r.run_id]} ahead)" if r.run_id in ahead else ""
        lines.append(
            f"{r.run_id:<18}{r.status:<11}{r.events:>7}  {created:<20}"
            f"{r.name or r.workflow_id}{fork}{queued}"
        )
    docs = [{**r.__dict__, "ahead": ahead.get(r.run_id)} for r in runs]
    out(args, docs, "\n".join(lines if runs else ["no runs yet"]))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with open_log(args) as log:
        run_id = log.run_id(args.run)
        rows = log.events(run_id)
    docs, lines = [], [f"{'SEQ':>6}  {'TYPE':<18}DETAIL"]
    for r in rows:
        try:
            event = event_body(r, whole=True)
        except LogCorrupt as exc:  # name it, and show the rest
            print(f"error: {exc.message}", file=sys.stderr)
            event = {"unreadable": exc.message}
        docs.append(
            {
                "seq": r.seq,
                "type": r.type,
                "schema_version": r.schema_version,
                "command_id": r.command_id,
                "recorded_at": r.recorded_at,
                "event": event,
            }
        )
        lines.append(f"{r.seq:>6}  {r.type:<18}{detail(event)}")
    out(args, {"run_id": run_id, "events": docs}, "\n".join(lines))
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    with open_log(args) as log:
        run_id = log.run_id(args.run)
        snapshot = log.snapshot(run_id, args.at)
        state = log.state(run_id, args.at)
    doc = msgspec.to_builtins(snapshot)
    doc["breakpoints"] = msgspec.to_builtins(state.breakpoints)
    doc["error"] = msgspec.to_builtins(state.error) if state.error else None
    doc["waiting_for"] = state.waiting_for
    doc["item_of"] = msgspec.to_builtins(state.item_of) if state.item_of else None  # a FanOut's
    reason = f" ({state.pause_reason})" if state.status == "PAUSED" and state.pause_reason else ""
    lines = [
        f"run {run_id}  status {snapshot.status}{reason}  at seq {snapshot.seq}  "
        f"current node {snapshot.current_node}",
    ]
    if state.item_of is not None:
        of = state.item_of
        lines.append(f"item {of.index + 1} of node {of.node} of run {of.run}")
    if state.error is not None:
        lines.append(f"error at node {state.error.node_id}: {state.error.message}")
    if state.waiting_for:
        lines.append(f"waiting for a person: {state.waiting_for}")
    lines += [
        f"breakpoint {b.id}: {b.when} {b.node_id or b.condition or ''}" for b in state.breakpoints
    ]
    lines += [
        "variables:",
        json.dumps(snapshot.variables, ensure_ascii=False, indent=2, default=str),
        f"history: {len(snapshot.history)} node(s)",
    ]
    lines += [f"  {h.seq:>6} {h.node_id} -> {h.next_node or '(failed)'}" for h in snapshot.history]
    doc["next_step"] = step = next_step(state, default_catalog())
    if step is not None:  # what the next node will do, its inputs resolved now
        inputs = json.dumps(step["inputs"], ensure_ascii=False, default=str)
        lines.append(f"next: {step['node_id']} ({step['action']}) inputs {inputs}")
    out(args, doc, "\n".join(lines))
    return 0
