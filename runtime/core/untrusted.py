"""Text that crosses to a party the engine does not trust: a model, and whoever reads a page's
text through it.

The log's redaction (runtime/core/secrets.py) replaces a short secret only where it is a whole
value, so that replacing "1" inside every string does not destroy data. What goes to a model is
held to a stricter rule: `scrub` replaces every secret value the run may know, whatever its
length, wherever it stands in the text, as it is or encoded (percent, form, JSON, HTML,
base64), by its reference `$env{name}`. A model never needs a secret's value, only its name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from weboter.runtime.core.encodings import ENCODINGS
from weboter.runtime.core.references import MARKER, MISSING, EnvSource, display, references_in
from weboter.runtime.core.secrets import redact


def scrub(text: str, secrets: Mapping[str, Any]) -> str:
    """`text` with every secret (reference path -> value; a group's values too) replaced by
    `$env{path}`, whatever its length: first as the log redacts (also inside longer text that
    was then encoded), then every remaining occurrence of a value, as it is or in a named
    encoding, however short."""
    flat = dict(_flat(secrets))
    if not flat:
        return text
    redacted = redact(text, flat)
    forms: dict[str, str] = {}
    for path, secret in flat.items():
        for encode in ENCODINGS.values():
            forms.setdefault(encode(secret), path)
        forms[secret] = path
    ordered = sorted(forms, key=len, reverse=True)  # the longest first: no half-match
    pieces, at = [], 0
    for found in [*MARKER.finditer(redacted), None]:  # a marker is never looked into
        end = found.start() if found is not None else len(redacted)
        piece = redacted[at:end]
        for form in ordered:
            if form and form in piece:
                piece = piece.replace(form, f"$env{{{forms[form]}}}")
        pieces.append(piece)
        if found is not None:
            pieces.append(found.group(0))
            at = found.end()
    return str(display("".join(pieces)))


def secrets_of(value: Any, env: EnvSource) -> dict[str, Any]:
    """The `$env` values that the references inside `value` (a workflow, a state) name, as
    `env` resolves them now: what must never reach a model in clear."""
    found: dict[str, Any] = {}
    for scope, path in references_in(value):
        if scope == "env" and path not in found:
            resolved = env.get(path)
            if resolved is not MISSING:
                found[path] = resolved
    return found


def _flat(secrets: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every value: a group's by their own paths (`shop.user`)."""
    for key, value in secrets.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flat(value, f"{path}.")
        elif isinstance(value, list):
            yield from _flat({str(i): v for i, v in enumerate(value)}, f"{path}.")
        elif value is not None and str(value):
            yield path, str(value)
