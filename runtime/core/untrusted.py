"""Text that crosses to a party the engine does not trust: a model, and whoever reads a page's
text through it.

The log's redaction (runtime/core/secrets.py) replaces a short secret only where it is a whole
value, so that replacing "1" inside every string does not destroy data. What goes to a model is
held to a stricter rule: `scrub` replaces every secret value the run may know, whatever its
length, wherever it stands in the text, as it is or encoded (percent, form, JSON, HTML,
base64), by its reference `$env{name}`. A model never needs a secret's value, only its name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from weboter.runtime.core.references import MISSING, EnvSource, display, marker, references_in
from weboter.runtime.core.secret_forms import Finder
from weboter.runtime.core.secrets import outside_markers, redact


def scrub(text: str, secrets: Mapping[str, Any]) -> str:
    """`text` with every secret (reference path -> value; a group's values too) replaced by
    `$env{path}`, whatever its length: as the log redacts, and also a short secret inside
    longer text, as it is, escaped or inside longer base64 (runtime/core/secret_forms.py)."""
    flat = dict(flat_values(secrets))
    if not flat:
        return text
    found = redact(text, flat)
    finders = [
        Finder(path, secret, marker, everywhere=True)
        for path, secret in sorted(flat.items(), key=lambda item: -len(item[1]))
    ]
    for step in (Finder.exact, Finder.variants):
        for finder in finders:
            found = outside_markers(found, functools.partial(step, finder))
    return str(display(found))


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


def flat_values(secrets: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every value: a group's by their own paths (`shop.user`)."""
    for key, value in secrets.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flat_values(value, f"{path}.")
        elif isinstance(value, list):
            yield from flat_values({str(i): v for i, v in enumerate(value)}, f"{path}.")
        elif value is not None and str(value):
            yield path, str(value)
