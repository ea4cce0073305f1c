"""The core: pure functions of workflows, commands, events and states. No I/O, no threads.

`decide(state, command) -> Decision` turns a command into events (routing, sub-flows,
breakpoints, live changes, fork, rewind, on_error); `apply(state, event)` folds one event;
`advance` is where a node's result takes the run (its control decides, here only); `validate`
checks a workflow; references and expressions resolve values.
Tested without sockets or files (tests/core/).
"""

from weboter.runtime.core.advance import advance
from weboter.runtime.core.catalog import (
    ActionContext,
    ActionSpec,
    Catalog,
    ControlSpec,
    Plugin,
)
from weboter.runtime.core.decide import COMMANDS, Command, Decider
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.fold import FoldError, apply, fold
from weboter.runtime.core.fork import fork_state
from weboter.runtime.core.loader import load_workflow, parse_text, to_workflow
from weboter.runtime.core.plan import plan
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.validate import validate

__all__ = [
    "COMMANDS",
    "ActionContext",
    "ActionSpec",
    "Catalog",
    "Command",
    "ControlSpec",
    "Decider",
    "Decision",
    "EnvSource",
    "FoldError",
    "Plugin",
    "Resolver",
    "advance",
    "apply",
    "error_context",
    "fold",
    "fork_state",
    "index_for",
    "load_workflow",
    "parse_text",
    "plan",
    "to_workflow",
    "validate",
]
