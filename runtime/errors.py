"""Every error Weboter raises on purpose. Each message says what, where, and what to do.

WeboterError
├── WorkflowError            the workflow file cannot be used (exit code 2)
│   ├── WorkflowSyntaxError    not valid JSON/YAML
│   └── WorkflowInvalid        schema or graph violations; carries every `Finding`
├── ReferenceError_          a `$scope{path}` reference cannot be resolved
├── ExpressionError          a safe expression was refused or failed
├── ActionError              an action failed at run time
│   ├── ActionTimeout          ... or ran out of time
│   ├── ElementNotFound        ... or its locator found no element (a healer may step in)
│   ├── RestoreMismatch        ... or its browser came back on a page unlike the recorded one
│   └── PostConditionFailed    ... or what must hold after it (`expect_url`) does not
├── CatalogError             unknown action/control, broken plugin
├── LogError                 the event log cannot be used (exit code 2)
│   ├── LogUnavailable         the path is not writable / not a directory / busy too long
│   ├── LogCorrupt             not an SQLite database / not Weboter's / an event that
│   │                          does not decode (its seq is named)
│   └── LogTooNew              written by a newer Weboter
├── UsageError               the command line is wrong (exit code 2)
├── ValueRefused             a value beyond a limit: 64-bit numbers, depth, size (exit 2)
├── IllegalTransition        a command that is not allowed in the run's current state
├── RunNotFound              no run with that id (or the prefix is ambiguous)
├── ModelError               no AI model configured, or it failed / gave no usable reply
└── TransportError           a message could not be sent/decoded
    └── NoAnswer               an engine did not answer in time (down, restarting, cut off)
        └── EngineGone           the engine a client waits on went silent, did not come back

Library errors are mapped where they arise: sqlite3's and msgspec's in runtime/store (the
store seam), ZeroMQ's in runtime/transport. Two store-internal signals are not errors for a
user and never leave the store: VersionConflict (another process appended first: decide
again) and DuplicateCommand (a command id seen before: its earlier events are the answer).
"""

from __future__ import annotations

from dataclasses import dataclass


class WeboterError(Exception):
    """Base of every deliberate error. `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "", waiting_for: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.waiting_for = waiting_for  # why a person must decide (a run waiting in ERROR)

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class WorkflowError(WeboterError):
    exit_code = 2


class WorkflowSyntaxError(WorkflowError):
    pass


@dataclass(frozen=True)
class Finding:
    """One validation result: `path` is like `nodes[3].params.next_node`."""

    severity: str  # "error" | "warning"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


class WorkflowInvalid(WorkflowError):
    def __init__(self, source: str, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.severity == "error"]
        lines = "\n".join(f"  {f}" for f in errors)
        super().__init__(
            f"{source}: workflow is invalid ({len(errors)} error(s)):\n{lines}",
            hint="fix the fields named above; `weboter validate FILE` re-checks it",
        )
        self.findings = findings


class ReferenceError_(WeboterError):  # noqa: N801 - the trailing _ avoids the builtin's name
    pass


class ExpressionError(WeboterError):
    pass


class ActionError(WeboterError):
    pass


class ActionTimeout(ActionError):
    pass


class PostConditionFailed(ActionError):
    """A node's action ran, but what must hold after it (`expect_url`) does not."""


class ElementNotFound(ActionError):
    pass


class RestoreMismatch(ActionError):
    """The run's browser came back (fork, rewind, resume) on a page that differs from the
    one recorded: the run pauses in ERROR instead of going on with a wrong page."""


class CatalogError(WeboterError):
    exit_code = 2


class LogError(WeboterError):
    exit_code = 2


class LogUnavailable(LogError):
    pass


class LogCorrupt(LogError):
    pass


class LogTooNew(LogError):
    pass


class UsageError(WeboterError):
    exit_code = 2


class ValueRefused(WeboterError):
    exit_code = 2


class IllegalTransition(WeboterError):
    exit_code = 2


class RunNotFound(WeboterError):
    exit_code = 2


class ModelError(WeboterError):
    pass


class TransportError(WeboterError):
    pass


class NoAnswer(TransportError):
    """An engine in another process did not answer in time: it may be down, restarting or cut
    off (a refusal is a TransportError with the engine's reason instead)."""


class EngineGone(NoAnswer):
    """The engine in another process that a client waits on went silent (no heartbeat) and did
    not come back in time: what the client waited for is in that engine's log, not lost."""
