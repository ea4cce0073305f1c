"""A model's repair of a run, through the run handle (runtime/engine/handle.py):
`suggest_repair` asks the model and records its suggestion (RepairSuggested, with why it waits
for a person when it does); `modify_runtime` applies a repair only if the run is still where
it was when the suggestion was made; `approve` and `reject` act on a suggestion reviewed, by
its seq — never a new ask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from weboter.runtime.ai.gateway import failure_of, propose_repair
from weboter.runtime.ai.models import Model
from weboter.runtime.core.containment import held_back
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.handle import RunHandle, through_log
from weboter.runtime.errors import IllegalTransition, UsageError
from weboter.runtime.store.reading import Reader
from weboter.schemas.context import RepairAction
from weboter.schemas.events import RepairSuggested


@dataclass(frozen=True)
class Suggestion:
    run_id: str
    action: RepairAction
    confidence: float
    seq: int  # the run's last seq when suggested: `modify_runtime` applies it there only
    held: str = ""  # why it needs a person's approval ("" : a model may apply it alone)


def suggest_repair(
    model: Model, db_path: Path, run_id: str, *, env: EnvSource, aria: str = ""
) -> Suggestion:
    """The model's repair for a run in ERROR (or PAUSED), recorded as RepairSuggested (with
    why it needs a person's approval, when it does: runtime/core/containment.py). `env`
    resolves the `$env` values the model must not be told."""
    run_id, state, steps = failure_of(db_path, run_id)
    action, confidence = propose_repair(model, state, steps, aria=aria, env=env)
    held = held_back(state, action, confidence)  # the write path records the same reason
    done = RunHandle(run_id, through_log(db_path, env)).suggest(action, confidence)
    return Suggestion(run_id, action, confidence, done.seqs[-1], held)


def modify_runtime(
    db_path: Path,
    run_id: str,
    at_seq: int,
    action: RepairAction,
    *,
    source: str = "model",
    env: EnvSource | None = None,
) -> tuple[bool, str]:
    """Apply `action` only if the run is still where it was right after `at_seq`: (True, "")
    once applied, else (False, why). `source`: `person` when a person approved it; a
    `model`'s repair that needs approval is refused (runtime/core/containment.py)."""
    with Reader(db_path) as log:
        run_id = log.run_id(run_id)
        seen = log.state(run_id, at_seq)
    run = RunHandle(run_id, through_log(db_path, env))
    try:
        run.repair(action, source=source, expect_version=seen.version)
    except IllegalTransition as exc:
        return False, exc.message
    return True, ""


def reviewed(db_path: Path, run_id: str, seq: int) -> tuple[str, RepairAction]:
    """(the run, the repair) suggested at `seq`: the one a person looked at."""
    with Reader(db_path) as log:
        run = log.run_id(run_id)
        rows = log.decoded(log.of_types(run, ("RepairSuggested",), after=seq - 1, until=seq))
    if not rows or not isinstance(rows[0].event, RepairSuggested):
        raise UsageError(
            f"run {run} has no repair suggested at seq {seq}",
            hint=f"`weboter history {run[:8]}` lists its suggestions (RepairSuggested, with seqs)",
        )
    return run, rows[0].event.action


def approve(
    db_path: Path, run_id: str, seq: int, *, env: EnvSource | None = None
) -> tuple[bool, str]:
    """Apply exactly the repair suggested at `seq`, approved by a person (no model asked):
    (True, "") once applied, else (False, why: the run moved on since)."""
    run, action = reviewed(db_path, run_id, seq)
    with Reader(db_path) as log:  # other suggestions or rejections since do not move the run
        since = log.events(run, after=seq, limit=REVIEWS_SKIPPED + 1)
    if since and len(since) <= REVIEWS_SKIPPED and all(r.type in REVIEWS for r in since):
        seq = since[-1].seq
    return modify_runtime(db_path, run, seq, action, source="person", env=env)


REVIEWS = ("RepairSuggested", "RepairRejected")  # recorded, but the run stays where it was
REVIEWS_SKIPPED = 50


def reject(
    db_path: Path, run_id: str, seq: int, reason: str, *, env: EnvSource | None = None
) -> None:
    """Record that a person rejected the repair suggested at `seq` (RepairRejected)."""
    run, action = reviewed(db_path, run_id, seq)
    RunHandle(run, through_log(db_path, env)).reject(action, reason or "rejected")
