"""Redaction: secrets read from `$env` never reach the log or artifacts in clear.

Any string equal to a secret becomes its marker; a secret of 6 or more characters is also
replaced inside longer strings ("Bearer s3cr3t" -> "Bearer <marker>"). Shorter secrets are only
redacted as whole values: replacing "1" inside every string would destroy data. The marker is
`\\x00$env{path}\\x00` (runtime/core/references.py), which the resolver turns back into the value
when the variable is used, also after a resume or fork. A string that already contains a
marker-like sequence (it came from outside) is neutralised first, so data cannot smuggle a
reference to an environment variable it was never given.

Encoded forms are recognised too, also where the secret was inside longer text when that text
was encoded (runtime/core/secret_forms.py): percent-encoded (every variant), JSON-escaped,
HTML-escaped (text and attribute forms, named and numeric references), base64. The marker
names the encoding (`\\x00$env{path}|url\\x00`, runtime/core/encodings.py), so the resolver
puts the secret back encoded the same way. Not recognised: a secret split across values,
hashed, encrypted, encoded twice, or transformed by an action (upper-cased, sliced ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from weboter.runtime.core.references import FORGETTING, MARKER, marker
from weboter.runtime.core.secret_forms import Finder


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every secret (reference -> value) replaced by its marker, also where it
    stands encoded, alone or inside longer text (the marker says how it was encoded)."""
    if not secrets:
        return _neutralise(value)
    return _redact(value, _finders(tuple(sorted((k, v) for k, v in secrets.items() if v))))


@functools.lru_cache(maxsize=64)
def _finders(secrets: tuple[tuple[str, str], ...]) -> tuple[Finder, ...]:
    """The finders of a run's secrets, the longest secret first (a secret inside another is
    found after it): made once, not for every command (kept in this process's memory only,
    like the values themselves)."""
    return tuple(_finder(path, secret) for path, secret in sorted(secrets, key=_longest))


def _longest(item: tuple[str, str]) -> int:
    return -len(item[1])


@functools.lru_cache(maxsize=256)
def _finder(path: str, secret: str) -> Finder:
    return Finder(path, secret, marker)


def _redact(value: Any, finders: tuple[Finder, ...]) -> Any:
    if isinstance(value, str):
        return _redact_text(value.replace("\x00", "\ufffd") if "\x00" in value else value, finders)
    if isinstance(value, dict):
        return {k: _redact(v, finders) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, finders) for v in value]
    return value


def _redact_text(text: str, finders: tuple[Finder, ...]) -> str:
    for finder in finders:
        if len(text) >= finder.shortest:
            whole = finder.whole.get(text)
            if whole is not None:
                return whole
    # every secret's exact forms first, the other variants after: `\\ b\"` is the JSON of
    # `\ b"`, though read with literal backslashes it would pass for a variant of `\\ b"`
    for step in (Finder.exact, Finder.variants):
        for finder in finders:
            if len(text) < finder.shortest:
                continue
            if "\x00" in text:  # an earlier secret's marker is never looked into
                text = outside_markers(text, functools.partial(step, finder))
            else:
                text = step(finder, text)
    return text


def outside_markers(text: str, redact: Callable[[str], str]) -> str:
    """`redact` applied to the text between markers (a marker is never looked into)."""
    pieces, at = [], 0
    for found in MARKER.finditer(text):
        pieces += [redact(text[at : found.start()]), found.group(0)]
        at = found.end()
    pieces.append(redact(text[at:]))
    return "".join(pieces)


def neutralise(value: Any) -> Any:
    """`value` with every NUL replaced (U+FFFD): text from outside can never pass for a
    secret's marker."""
    return _neutralise(value)


def _neutralise(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _neutralise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralise(v) for v in value]
    return value


def _forget() -> None:
    """A run's own `$env` values are dropped when it ends: so are the patterns made of them."""
    _finders.cache_clear()
    _finder.cache_clear()


FORGETTING.append(_forget)
