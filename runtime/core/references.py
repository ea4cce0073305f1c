"""`$scope{dotted.path}` references: find them, resolve them anywhere in a value, keep secrets.

Scopes: `env`, `global`, `flow`, `prev` (alias `prev_outputs`), `output` (alias `cur_outputs`).
A value that is exactly one reference keeps the referenced value's type; references inside
longer strings are interpolated as text. Lists and dicts are resolved recursively.

Secrets: a value read from `$env` is recorded in `Resolver.secrets` (reference -> value) so the
State Manager can redact it before anything reaches the log (see runtime/core/secrets.py). Redacted
values carry a *marker* (`\\x00$env{path}\\x00`) in place of the secret; the resolver puts the
secret back whenever it reads a marker, so a resumed or forked run gets fresh values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from weboter.runtime.core.encodings import encode_as, shown
from weboter.runtime.errors import ReferenceError_

SCOPE_ALIASES = {
    "env": "env",
    "global": "global",
    "flow": "flow",
    "prev": "prev",
    "prev_outputs": "prev",
    "output": "output",
    "cur_outputs": "output",
}
REFERENCE = re.compile(r"\$([A-Za-z_]+)\{([^{}]*)\}")
# `$$` is a literal `$`: "$$flow{x}" stays "$flow{x}" (for page scripts that look like refs)
_REFERENCE_OR_ESCAPE = re.compile(r"\$\$|\$([A-Za-z_]+)\{([^{}]*)\}")
# a redacted secret: \0$env{path}\0, or \0$env{path}|enc\0 where it stood encoded
# (runtime/core/encodings.py)
_OPENED = re.compile(r"\$(" + "|".join(SCOPE_ALIASES) + r")\{")  # a reference begun
MARKER = re.compile(r"\x00\$env\{([^{}\x00]*)\}(?:\|(\w+))?\x00")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def marker(path: str, encoding: str = "") -> str:
    return f"\x00$env{{{path}}}|{encoding}\x00" if encoding else f"\x00$env{{{path}}}\x00"


def split_path(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        parts.append(int(index) if index else name)
    return parts


MISSING = object()  # what `lookup` and `EnvSource.get` return for nothing there
_MISSING = MISSING


def lookup(data: Any, path: str) -> Any:
    """The value at `path` inside `data`, or the sentinel `_MISSING`."""
    current = data
    for part in split_path(path):
        if isinstance(current, Mapping):
            if part in current:
                current = current[part]
            elif str(part) in current:
                current = current[str(part)]
            else:
                return _MISSING
        elif isinstance(current, list | tuple) and isinstance(part, int | str):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
    return current


# caches made from `$env` values (runtime/core/secrets.py): cleared when a run's own go
FORGETTING: list[Callable[[], None]] = []


class EnvSource:
    """The `$env` scope: an env file's nested values, then the process environment.

    `$env{shop.url}` is looked up as `shop: {url: ...}` in the env file, then as the
    environment variable `shop.url`, then as `SHOP_URL`. `os_allow`: only environment variables
    whose name starts with one of these prefixes are visible (an engine serving other
    processes exposes none of its environment unless told to: `serve --env-allow PREFIX`).
    """

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        use_os: bool = True,
        os_allow: tuple[str, ...] | None = None,
        holder: str = "",
    ) -> None:
        self._values = as_text(dict(values or {}))
        self._use_os = use_os
        self._os_allow = os_allow
        self.holder = holder  # the process whose $env this is, as a refusal names it
        self._runs: dict[str, dict[str, Any]] = {}  # run id -> values a client sent

    def give(self, run_id: str, values: Mapping[str, Any], *, parent: str | None = None) -> None:
        """`$env` values a client sent with a run (and, for a fork, its parent's): looked up
        first, for that run only. Held in this process's memory, never written anywhere; an
        engine that restarts has forgotten them, and a resume sends them again."""
        merged = {**self._runs.get(parent or "", {}), **self._runs.get(run_id, {}), **values}
        if merged:
            self._runs[run_id] = as_text(merged)

    def forget(self, run_id: str) -> None:
        """Drop a run's values (it ended; a fork of it is given values of its own), and
        whatever this process keeps made from them (redaction's patterns)."""
        if self._runs.pop(run_id, None) is not None:
            for clear in FORGETTING:
                clear()

    def own(self) -> dict[str, Any]:
        """The env file's values (sent with a run to an engine in another process)."""
        return dict(self._values)

    def sent(self, run_id: str) -> dict[str, Any]:
        """The values a client sent with `run_id` (for the worker that runs its nodes)."""
        return dict(self._runs.get(run_id, {}))

    def for_run(self, run_id: str) -> EnvSource:
        """The `$env` scope one run sees: its client's values, then this source."""
        values = self._runs.get(run_id)
        return self if not values else _RunEnv(values, self)

    def get(self, path: str) -> Any:
        found = lookup(self._values, path) if path else _MISSING
        if found is not _MISSING:
            return found
        if self._use_os:
            for name in (path, env_name(path)):
                if self._lets_through(name) and name in os.environ:
                    return os.environ[name]
        return _MISSING

    def _lets_through(self, name: str) -> bool:
        return self._use_os and (self._os_allow is None or name.startswith(self._os_allow))

    def missing(self, path: str) -> tuple[str, str]:
        """(where `$env{path}` was looked for, how to set it): a refusal names the process
        and the flag that would let the value in."""
        name = env_name(path)
        who = self.holder or "this process"
        where = f" in {self.holder}" if self.holder else ""
        exported = [n for n in (path, name) if n in os.environ and not self._lets_through(n)]
        if exported and self._use_os:
            shown = ", ".join(self._os_allow or ()) or "none"
            return where, (
                f"{exported[0]} is exported, but {who} lets workflows read only the "
                f"environment variables --env-allow names (now: {shown}): start it with "
                f"--env-allow {exported[0]}, or put the value in its --env-file"
            )
        if not self._use_os:
            return where, (
                f"{who} reads no environment variables: put {name} in its --env-file, or "
                "send it with the run (`weboter run --engine … --env-file FILE`: a client's "
                "exported variables are not sent)"
            )
        if self._os_allow is not None:
            return where, (
                f"put it in {who}'s --env-file, or export {name}=... and start {who} with "
                f"--env-allow {name}"
            )
        return where, f"set it in the env file (--env-file) or export {name}=..."


def env_name(path: str) -> str:
    """The environment variable `$env{path}` is also looked up as: `shop.url` -> SHOP_URL."""
    return re.sub(r"[^A-Za-z0-9]", "_", path).upper()


def as_text(values: Any) -> Any:
    """`$env` values are text (so they can be redacted wherever they land): numbers and
    booleans become their text, groups (dicts, lists) keep their shape."""
    if isinstance(values, dict):
        return {str(k): as_text(v) for k, v in values.items()}
    if isinstance(values, list):
        return [as_text(v) for v in values]
    return values if isinstance(values, str) else _to_text(values)


class _RunEnv(EnvSource):
    def __init__(self, values: Mapping[str, Any], base: EnvSource) -> None:
        super().__init__(values, use_os=False)
        self._base = base

    def missing(self, path: str) -> tuple[str, str]:
        return self._base.missing(path)

    def get(self, path: str) -> Any:
        found = super().get(path)
        return self._base.get(path) if found is _MISSING else found


class Resolver:
    """Resolves references against one node's scopes; collects the secrets it read."""

    def __init__(
        self,
        env: EnvSource,
        *,
        globals_: Mapping[str, Any] | None = None,
        flow: Mapping[str, Any] | None = None,
        prev: Mapping[str, Any] | None = None,
        output: Mapping[str, Any] | None = None,
    ) -> None:
        self.env = env
        self.scopes: dict[str, Mapping[str, Any]] = {
            "global": globals_ or {},
            "flow": flow or {},
            "prev": prev or {},
            "output": output or {},
        }
        self.secrets: dict[str, str] = {}

    def resolve(self, value: Any, where: str = "") -> Any:
        """`value` with every reference replaced; `where` names it in errors."""
        if isinstance(value, str):
            return self._resolve_str(value, where)
        if isinstance(value, dict):
            return {
                k: self.resolve(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def reference(self, scope: str, path: str, where: str = "") -> Any:
        """The value of one reference, with any secret markers inside it put back."""
        canonical = SCOPE_ALIASES.get(scope)
        text = f"${scope}{{{path}}}"
        if canonical is None:
            raise ReferenceError_(
                f"{where or 'value'}: unknown scope in reference {text}",
                hint="scopes are $env, $global, $flow, $prev (or $prev_outputs), "
                "$output (or $cur_outputs)",
            )
        if canonical == "env":
            found = self.env.get(path)
            if found is _MISSING:
                looked, hint = self.env.missing(path)
                raise ReferenceError_(f"{where or 'value'}: {text} is not set{looked}", hint=hint)
            self._remember(path, found)
            return found
        found = lookup(self.scopes[canonical], path) if path else dict(self.scopes[canonical])
        if found is _MISSING:
            known = ", ".join(sorted(str(k) for k in self.scopes[canonical])) or "none"
            raise ReferenceError_(
                f"{where or 'value'}: {text} does not resolve (variables in ${canonical}: {known})",
                hint=_unresolved_hint(canonical, path),
            )
        return self._unmark(found)

    def _remember(self, path: str, found: Any) -> None:
        """Record a value read from `$env` as a secret; of a group of values (`$env{shop}`),
        every one, by its own path."""
        if isinstance(found, str):
            self.secrets[path] = found
        elif isinstance(found, dict):
            for key, value in found.items():
                self._remember(f"{path}.{key}", value)
        elif isinstance(found, list):
            for index, value in enumerate(found):
                self._remember(f"{path}[{index}]", value)

    def _resolve_str(self, text: str, where: str) -> Any:
        if "$" not in text:
            return self._unmark(text) if "\x00" in text else text
        whole = REFERENCE.fullmatch(text)
        if whole:
            return self.reference(whole.group(1), whole.group(2), where)

        def interpolate(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            found = self.reference(match.group(1), match.group(2), where)
            return found if isinstance(found, str) else _to_text(found)

        return _REFERENCE_OR_ESCAPE.sub(interpolate, self._unmark(text))

    def _secret_text(self, found: re.Match[str]) -> str:
        """The secret behind one marker, encoded the way it stood where it was found."""
        text = str(self.reference("env", found.group(1)))
        encoding = found.group(2)
        return encode_as(encoding, text) if encoding else text

    def unmark(self, value: Any) -> Any:
        """`value` with the secrets behind its markers put back (values read from the log)."""
        return self._unmark(value)

    def _unmark(self, value: Any) -> Any:
        """Put secrets back where a redacted value carries markers."""
        if isinstance(value, str):
            if "\x00" not in value:
                return value
            whole = MARKER.fullmatch(value)
            if whole and not whole.group(2):
                return self.reference("env", whole.group(1))
            return MARKER.sub(self._secret_text, value)
        if isinstance(value, dict):
            return {k: self._unmark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._unmark(v) for v in value]
        return value


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        import json  # noqa: PLC0415 - only for the rare structured interpolation

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def texts_in(value: Any) -> Iterator[str]:
    """Every text anywhere inside `value` (maps' values and lists' items, at any depth)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from texts_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from texts_in(v)


def unclosed_in(value: Any) -> list[str]:
    """Texts inside `value` that open a reference of a known scope without closing it
    (`"$global{size"`): taken literally at run time, which is never what was meant."""
    return [t for t in texts_in(value) if _OPENED.search(_REFERENCE_OR_ESCAPE.sub("", t))]


def references_in(value: Any) -> list[tuple[str, str]]:
    """Every (scope, path) referenced anywhere inside `value` (for validation)."""
    return [
        (m.group(1), m.group(2))
        for text in texts_in(value)
        for m in _REFERENCE_OR_ESCAPE.finditer(text)
        if m.group(1)
    ]


def display(value: Any) -> Any:
    """A value for people: secret markers shown as their `$env{...}` reference."""
    if isinstance(value, str):
        return MARKER.sub(_shown, value) if "\x00" in value else value
    if isinstance(value, dict):
        return {k: display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [display(v) for v in value]
    return value


def _shown(found: re.Match[str]) -> str:
    encoding = found.group(2)
    return f"$env{{{found.group(1)}}}" + (f" ({shown(encoding)}-encoded)" if encoding else "")


def _unresolved_hint(scope: str, path: str) -> str:
    """How to give a variable that does not resolve: a global one can come with the run."""
    hint = "check the spelling, or set the variable in an earlier node's outputs"
    if scope == "global":
        name = path.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0]
        hint += f"; or give it with the run: `weboter run FILE --var {name}=VALUE`"
    return hint
