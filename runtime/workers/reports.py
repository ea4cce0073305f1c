"""What the broker (actors/broker.py) checks of a worker's report before passing it on: it must
be about the node the worker runs now for a run it holds, answer where that node's answer goes,
and name only artifacts the worker uploaded with it (or the page state it was given). Uploads
are held until their report is accepted, bounded in size, and stored under their own hash.

A worker is trusted to run its nodes, not to speak for other runs: without these checks a
worker could complete another worker's run, have answers sent elsewhere, or point its run's
page state at another run's cookies and be handed them with the next lease.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from weboter.runtime.workers.leases import Entry, Task

MAX_UPLOAD = 64 * 1024 * 1024  # bytes of artifacts one report may bring
ADDRESS = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,8})?")


class Report(msgspec.Struct):
    """A report as the broker reads it: what names it and the artifacts it refers to (its
    receiver decodes it whole)."""

    type: str = ""
    run_id: str = ""
    command_id: str = ""
    reply_to: str = ""
    version: int = -1
    browser: dict[str, Any] | None = None
    evidence: dict[str, Any] = {}
    screenshot: str = ""  # PageLooked


_decoder = msgspec.msgpack.Decoder(Report)


def read(payload: bytes) -> Report:
    """The report's routing fields; an empty Report when it cannot be read."""
    try:
        return _decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Report()


def referenced(report: Report) -> set[str]:
    """The artifact addresses a report names."""
    found = {str(v) for v in report.evidence.values() if ADDRESS.fullmatch(str(v))}
    if report.browser and report.browser.get("storage"):
        found.add(str(report.browser["storage"]))
    if report.screenshot:
        found.add(report.screenshot)
    return found


def refusal(report: Report, entry: Entry, holder: Entry | None, uploaded: set[str]) -> str | None:
    """Why a RecordNodeResult or RecordAttempt from `entry` is not passed on (None: it is)."""
    who = f"worker {entry.name}"
    if holder is not entry:
        held = holder.name if holder else "no worker"
        return (
            f"a result for run {report.run_id} from {who}, which does not hold its lease "
            f"({held} does): refused"
        )
    task = entry.busy.get(report.run_id)
    if task is None or not _about(report, task):
        return f"a result for run {report.run_id} from {who} is not about the node it runs now"
    given = {task.storage} if task.storage else set()
    stray = referenced(report) - uploaded - given
    if stray:
        return f"{who} names artifacts it did not upload ({', '.join(sorted(stray))[:200]})"
    return None


def _about(report: Report, task: Task) -> bool:
    """A result names the node's command, version and answer's address; an attempt is
    "<command id>-<attempt>" and answered by nobody."""
    if report.type == "RecordNodeResult":
        ours = (report.command_id, report.version, report.reply_to)
        return ours == (task.command_id, task.version, task.reply_to)
    return report.command_id.startswith(f"{task.command_id}-") and not report.reply_to


KEPT_ADDRESSES = 4096  # addresses remembered per worker as its own, once stored


class Uploads:
    """Artifacts each worker sent ahead of its next report (held until it is accepted), and
    the addresses of those already stored, per worker: a worker running several nodes at once
    uploads what each made before the next report, whichever run's it is, so one report may
    carry another's artifacts; the other's report may then name them (its worker uploaded
    them), though they are no longer held."""

    def __init__(self, limit: int = MAX_UPLOAD) -> None:
        self.limit = limit
        self._held: dict[bytes, dict[str, bytes]] = {}
        self._stored: dict[bytes, dict[str, None]] = {}

    def add(self, identity: bytes, address: str, data: bytes) -> str | None:
        """Hold an upload; why it is refused (not its hash, over the limit), or None."""
        if not ADDRESS.fullmatch(address) or hashlib.sha256(data).hexdigest() != address[:64]:
            self.drop(identity)
            return f"artifact {address[:80]!r} is not the SHA-256 of its bytes"
        held = self._held.setdefault(identity, {})
        held[address] = data
        if sum(len(d) for d in held.values()) > self.limit:
            self.drop(identity)
            return f"artifacts over {self.limit // 2**20} MiB ahead of one report"
        return None

    def take(self, identity: bytes) -> dict[str, bytes]:
        """The uploads held for `identity` (now given up to the caller)."""
        return self._held.pop(identity, {})

    def stored(self, identity: bytes, addresses: Iterable[str]) -> None:
        """`identity`'s uploads at these addresses are stored (the last few thousand are
        remembered as its own)."""
        own = self._stored.setdefault(identity, {})
        own.update(dict.fromkeys(addresses))
        for old in list(itertools.islice(own, max(len(own) - KEPT_ADDRESSES, 0))):
            del own[old]

    def sent(self, identity: bytes, taken: dict[str, bytes]) -> set[str]:
        """What `identity` uploaded: `taken` now, and what it uploaded before, stored."""
        return set(taken) | set(self._stored.get(identity, ()))

    def drop(self, identity: bytes) -> None:
        self._held.pop(identity, None)

    def forget(self, identity: bytes) -> None:
        """The worker is gone: nothing of it is held or remembered."""
        self.drop(identity)
        self._stored.pop(identity, None)
