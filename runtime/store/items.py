"""Where a FanOut's item runs stand, from the log (runtime/core/items.py says what they are).

`stand` answers, for each item of one visit of a FanOut node, what the fan-out does with it:
its result (completed), drive it on (made before, not at rest: a crash, an engine stop), watch
it (another process drives it now), continue it (it waits in ERROR), or make it (no run yet, or
every earlier try failed or was stopped). One query finds which item runs exist; only those
are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from msgspec.structs import replace

from weboter.runtime.core.items import item_run_id
from weboter.runtime.store.reading import Reader
from weboter.schemas.state import ItemOf, RunState, RunStatus

How = Literal["done", "make", "resume", "continue", "watch"]
TRIES = 20  # tries of one item looked for (each a failed or stopped run before the next)


@dataclass(frozen=True)
class Standing:
    of: ItemOf  # the item and its try that counts now
    how: How
    state: RunState | None = None  # the item run as the log has it (None: not made yet)
    version: int = 0  # its version when looked at (a resume expects it still)


def stand(reader: Reader, first: ItemOf, count: int) -> list[Standing]:
    """Each of `count` items of the visit `first` names (its index and try ignored): one
    query per try for which item runs exist, then a read of each that does."""
    found: dict[int, Standing] = {}
    pending = list(range(count))
    for attempt in range(TRIES):
        tries = {i: replace(first, index=i, attempt=attempt) for i in pending}
        present = reader.present([item_run_id(of) for of in tries.values()]) if tries else set()
        pending = []
        for index, of in tries.items():
            run_id = item_run_id(of)
            if run_id not in present:
                found[index] = Standing(of, "make")
                continue
            state = reader.state(run_id)
            if state.status == RunStatus.COMPLETED:
                found[index] = Standing(of, "done", state, state.version)
            elif not state.status.terminal:
                found[index] = Standing(of, _how(reader, state), state, state.version)
            else:
                pending.append(index)  # failed or stopped: the next try
        if not pending:
            break
    for index in pending:
        found[index] = Standing(replace(first, index=index, attempt=TRIES), "make")
    return [found[i] for i in range(count)]


def _how(reader: Reader, state: RunState) -> How:
    """What to do with an item run made before that is not at an end."""
    if state.status == RunStatus.ERROR:
        return "continue"
    driver = reader.driver(state.run_id)
    if driver is not None and driver[0] != os.getpid():
        return "watch"  # another live process drives it: never twice at once
    return "resume"
