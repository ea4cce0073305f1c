"""What the bridge remembers of the clients it has seen, what it can read of a message it
refuses, and how it logs refusals. All hold against hostile input: memory stays bounded however
many identities a client invents, a refusal names the command it refuses when the message says
one, and a flood of bad messages cannot flood the log (`Refusals`)."""

from __future__ import annotations

import collections
import logging
import time
from typing import TypeVar

import msgspec

PEERS_KEPT = 50_000  # socket identities remembered (of clients seen most recently)
SHOWN_CHARS = 40  # of a socket identity in a log line or a refusal

V = TypeVar("V")


class Bounded(collections.OrderedDict[bytes, V]):
    """A dict that forgets its oldest entries beyond `size` (one thread uses it)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: bytes, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def setdefault(self, key: bytes, default: V) -> V:
        if key not in self:
            self[key] = default
        else:
            self.move_to_end(key)  # in use: among the last to be forgotten
        return self[key]


def shown(identity: bytes | str) -> str:
    """A socket identity as a log line or a refusal shows it: printable text as it is, else
    hex with `0x` (ZeroMQ's own identities are a zero byte and four random ones); at most
    SHOWN_CHARS characters, `...` where cut."""
    if isinstance(identity, str):
        text = identity
    else:
        try:
            text = identity.decode()
        except UnicodeDecodeError:
            text = ""
    if not text or not text.isprintable():
        raw = identity if isinstance(identity, bytes) else _bytes(identity)
        text = "0x" + raw.hex() if raw else "(empty)"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _bytes(identity: str) -> bytes:
    """The bytes of an identity decoded with errors="surrogateescape" (as the bridge does)."""
    try:
        return identity.encode(errors="surrogateescape")
    except UnicodeEncodeError:  # a surrogate that escapes no byte
        return identity.encode(errors="backslashreplace")


class _Named(msgspec.Struct):
    """What a refused message named, read leniently: anything else is ignored."""

    command_id: str | None = None
    run_id: str | None = None


_named_decoder = msgspec.msgpack.Decoder(_Named)


def named(payload: bytes) -> tuple[str, str]:
    """(command_id, run_id) of a payload that is a msgpack map with them, else ("", "")."""
    try:
        found = _named_decoder.decode(payload)
    except Exception:  # not a map, too deep, wrong types: it named nothing readable
        return "", ""
    return found.command_id or "", found.run_id or ""


class Refusals:
    """Logs each refused message as a warning with its reason, at most `per_minute` a minute;
    beyond that, one line says how many more there were (one thread uses it)."""

    def __init__(
        self,
        log: logging.Logger,
        per_minute: int = 20,
        *,
        who: str = "bridge",
        sender: str = "a message from client",
    ) -> None:
        self.log = log
        self.per_minute = per_minute
        self.who, self.sender = who, sender
        self._window = 0.0
        self._logged = 0
        self._hidden = 0

    def refused(self, client: bytes | str, why: str) -> None:
        now = time.monotonic()
        if now - self._window >= 60:
            if self._hidden:
                self.log.warning("%s: %d more refused messages not shown", self.who, self._hidden)
            self._window, self._logged, self._hidden = now, 0, 0
        if self._logged < self.per_minute:
            self._logged += 1
            self.log.warning("%s: refused %s %s: %s", self.who, self.sender, shown(client), why)
        else:
            self._hidden += 1
