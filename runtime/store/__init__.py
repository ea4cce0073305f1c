"""The store: the SQLite event log and everything read from or written to it.

`RunStore.execute(command)` is the one write path (read state, decide, redact, append in one
transaction, fold once); `state_at`, `runs`, `history` and `context_snapshot` are the one read
model, derived from the same fold, and `Reader` (`with Reader(path) as log:`) the one read path
every front end and the browser layer use. sqlite3 and msgspec errors are mapped to `LogError`
here.
"""

from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.eventlog import Durability, EventLog, to_record
from weboter.runtime.store.projection import context_snapshot, state_at, variables_of
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.runs import RunSummary
from weboter.runtime.store.runstore import Outcome, RunStore
from weboter.runtime.store.verify import diff, history, step_back, verify

__all__ = [
    "ArtifactStore",
    "Durability",
    "EventLog",
    "Outcome",
    "Reader",
    "RunStore",
    "RunSummary",
    "context_snapshot",
    "diff",
    "history",
    "state_at",
    "step_back",
    "to_record",
    "variables_of",
    "verify",
]
