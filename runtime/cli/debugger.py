"""`weboter debug FILE|RUN`: an interactive debugger over the engine's commands.

break / clear, step / next (over a SubFlow) / continue, back (rewind one node), vars, set,
patch, jump, fork, where, history, help, quit. A finished run can be looked at (where, vars,
history) and forked, nothing else. With a terminal: completion and history (prompt_toolkit);
without one, commands are read line by line from stdin (scripts, tests).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from weboter.runtime.core.flows import index_for
from weboter.runtime.engine.client import EngineClient, JobRejected
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.errors import IllegalTransition
from weboter.runtime.store.private import open_private, private_folder
from weboter.runtime.store.projection import variables_of
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.state import Breakpoint, RunState

HELP = """commands:
  break NODE [after] | break if EXPR | break error   set a breakpoint (once: add `once`)
  clear ID                      clear a breakpoint (ids are shown by `where`)
  step | next | continue        one node (into sub-flows) | one node (over them) | until rest
  back                          rewind one node
  vars                          every variable
  set NAME=VALUE [global]       change a variable (VALUE is JSON when it parses)
  patch NODE FIELD=VALUE        change a node: inputs.X, params.X, control, action
  jump NODE                     go on at another node of the current flow
  retry | skip                  in ERROR: the failed node again | counted done; then go on
  fork [SEQ] [NAME=VALUE ...]   a new run from here (or from SEQ), with globals changed
  where | history [N] | help | quit"""

LIVE_ONLY = {
    *("break", "clear", "step", "next", "continue", "back", "set", "patch", "jump"),
    *("retry", "skip"),
}


class Debugger:
    def __init__(
        self, client: EngineClient, db_path: Path, run_id: str, say: Callable[[str], None]
    ) -> None:
        self.client = client
        self.db_path = db_path
        self.run_id = run_id
        self.say = say

    @property
    def run(self) -> RunHandle:
        """The run being debugged (a fork replaces it), its commands sent to the engine."""
        return RunHandle(self.run_id, through_engine(self.client))

    def state(self) -> RunState:
        with Reader(self.db_path) as log:
            return log.state(self.run_id)

    def words(self) -> list[str]:
        commands = [
            "break",
            "clear",
            "step",
            "next",
            "continue",
            "retry",
            "skip",
            "back",
            "vars",
            "set",
            "patch",
            "jump",
            "fork",
            "where",
            "history",
            "help",
            "quit",
            "after",
            "if",
            "error",
            "global",
            "once",
        ]
        nodes = {n for flow in index_for(self.state().workflow).nodes.values() for n in flow}
        return commands + sorted(nodes)

    def run_line(self, line: str) -> bool:
        """Run one command line; False when the session should end."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.say(f"error: {exc}")
            return True
        if not words:
            return True
        name, args = words[0], words[1:]
        if name in ("quit", "exit", "q"):
            return False
        handler = getattr(self, f"do_{name}", None)
        if handler is None:
            self.say(f"unknown command {name!r}; `help` lists them")
            return True
        if name in LIVE_ONLY and self.state().status.terminal:
            self.say(f"run {self.run_id} is {self.state().status}: read-only; `fork` to go on")
            return True
        try:
            handler(args)
        except (JobRejected, IllegalTransition) as exc:
            self.say(f"refused: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
        except (ValueError, IndexError) as exc:
            self.say(f"error: {exc}; `help` shows the syntax")
        return True

    # --- commands ------------------------------------------------------------------------

    def do_help(self, args: list[str]) -> None:
        self.say(HELP)

    def do_where(self, args: list[str]) -> None:
        state = self.state()
        path = "/".join(state.frame.flow_path) if state.frames else ""
        resting = state.status in ("PAUSED", "ERROR")
        reason = f" ({state.pause_reason})" if state.pause_reason and resting else ""
        self.say(
            f"run {self.run_id} {state.status}{reason} at {path}:{state.current_node} "
            f"(seq {state.seq}, {state.nodes_completed} node(s) done)"
        )
        if state.error is not None:
            self.say(f"  error at {state.error.node_id}: {state.error.message}")
        for bp in state.breakpoints:
            self.say(
                f"  breakpoint {bp.id}: {bp.when} {bp.node_id or bp.condition or ''}"
                + (" once" if bp.once else "")
            )

    def do_vars(self, args: list[str]) -> None:
        variables = variables_of(self.state())
        variables.pop("frames", None)
        self.say(json.dumps(variables, ensure_ascii=False, indent=2, default=str))

    def do_history(self, args: list[str]) -> None:
        count = int(args[0]) if args else 10
        with Reader(self.db_path) as log:
            steps = log.history(self.run_id)
        for step in steps[-count:]:
            self.say(
                f"  seq {step.seq:>6}  {step.node_id} -> {step.next_node}  "
                f"{json.dumps(step.variables, default=str)[:100]}"
            )

    def do_break(self, args: list[str]) -> None:
        once = "once" in args
        args = [a for a in args if a != "once"]
        if not args:
            raise ValueError("break needs NODE, `if EXPR` or `error`")
        if args[0] == "error":
            bp = Breakpoint(id="error", when="error", once=once)
        elif args[0] == "if":
            expr = " ".join(args[1:])
            bp = Breakpoint(id=f"if:{expr}", when="condition", condition=expr, once=once)
        else:
            after = args[1:2] == ["after"]
            bp = Breakpoint(
                id=f"{'after' if after else 'before'}:{args[0]}",
                when="after" if after else "before",
                node_id=args[0],
                once=once,
            )
        self.run.set_breakpoint(bp)
        self.say(f"breakpoint {bp.id} set")

    def do_clear(self, args: list[str]) -> None:
        self.run.clear_breakpoint(args[0])
        self.say(f"breakpoint {args[0]} cleared")

    def do_step(self, args: list[str]) -> None:
        self.run.step(timeout=600)
        self.do_where([])

    def do_next(self, args: list[str]) -> None:
        self.run.step_over(timeout=600)
        self.do_where([])

    def do_continue(self, args: list[str]) -> None:
        self.run.cont()
        self.run.wait(timeout=3600)
        self.do_where([])

    def do_retry(self, args: list[str]) -> None:
        self._repair("retry")

    def do_skip(self, args: list[str]) -> None:
        self._repair("skip")

    def _repair(self, kind: Literal["retry", "skip"]) -> None:
        """The failed node of a run waiting in ERROR: again, or counted done; then go on."""
        state = self.state()
        if state.status != "ERROR":
            raise ValueError(f"the run is {state.status}; {kind} is for a run waiting in ERROR")
        self.run.repair(RepairAction(kind=kind, node_id=state.current_node, reason="weboter debug"))
        self.say(f"{kind} of {state.current_node} recorded; going on")
        self.do_continue([])

    def do_back(self, args: list[str]) -> None:
        with Reader(self.db_path) as log:
            target, node_id = log.step_back(self.run_id)
        self.run.rewind(target)
        self.say(f"back before {node_id} (rewound to seq {target})")
        self.do_where([])

    def do_set(self, args: list[str]) -> None:
        name, _, raw = args[0].partition("=")
        if not name or not _:
            raise ValueError("set needs NAME=VALUE")
        value = _json(raw)
        scope: Literal["flow", "global"] = "global" if "global" in args[1:] else "flow"
        self.run.set_variable(name, value, scope)
        self.say(f"{scope} {name} = {json.dumps(value, default=str)}")

    def do_patch(self, args: list[str]) -> None:
        node_id, (field, _, raw) = args[0], args[1].partition("=")
        state = self.state()
        node = index_for(state.workflow).node(state.frame.flow_path, node_id)
        if node is None:
            raise ValueError(f"the current flow has no node {node_id!r}")
        value = _json(raw)
        if field.startswith("inputs."):
            changes = NodeModifications(inputs={**node.inputs, field[7:]: value})
        elif field.startswith("params."):
            changes = NodeModifications(params={**node.params, field[7:]: value})
        elif field == "control":
            changes = NodeModifications(control=str(value))
        elif field == "action":
            changes = NodeModifications(action=str(value))
        else:
            raise ValueError(f"patch FIELD is inputs.X, params.X, control or action, not {field}")
        self.run.patch(node_id, changes)
        self.say(f"node {node_id}: {field} = {json.dumps(value, default=str)}")

    def do_jump(self, args: list[str]) -> None:
        self.run.jump(args[0])
        self.say(f"next node: {args[0]}")

    def do_fork(self, args: list[str]) -> None:
        seq = int(args[0]) if args and args[0].isdigit() else self.state().seq
        changes = dict(_pair(a) for a in args if "=" in a)
        self.run_id = self.run.fork(seq, variables=changes, start=None).run_id
        self.say(f"forked run {self.run_id} from seq {seq}; now debugging it")
        self.do_where([])


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _pair(text: str) -> tuple[str, Any]:
    name, _, raw = text.partition("=")
    return name, _json(raw)


def lines(debugger: Debugger, history_file: Path) -> Iterator[str]:
    """Command lines: from a prompt with completion on a terminal, else from stdin."""
    prompt = f"(weboter {debugger.run_id[:8]}) "
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession  # noqa: PLC0415 - only on a terminal
        from prompt_toolkit.completion import WordCompleter  # noqa: PLC0415
        from prompt_toolkit.history import FileHistory  # noqa: PLC0415

        private_folder(history_file.parent)
        os.close(open_private(history_file, append=True))  # what was typed: its owner's only
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
        while True:
            try:
                yield session.prompt(prompt, completer=WordCompleter(debugger.words()))
            except (EOFError, KeyboardInterrupt):
                return
    for line in sys.stdin:
        print(prompt + line.rstrip(), flush=True)
        yield line


def repl(debugger: Debugger, history_file: Path) -> None:
    debugger.do_where([])
    for line in lines(debugger, history_file):
        if not debugger.run_line(line):
            return
