"""Which hosts a run may reach over the network.

Two lists may limit it: the one a person gives the process that runs the nodes
(`--allow-host`, on `run`, `serve`, `worker`, `ui`, `mcp` ...) and the workflow's own
`allow_hosts`. A host must be allowed by every list given; with neither, any host may be
reached (as a browser would). The rule holds for the run's pages and everything they load
(runtime/browser/gate.py), and for the HTTP actions (runtime/actions/http.py), redirects
included.

A pattern is a host name or address, optionally with a port: `shop.example`,
`127.0.0.1:8000`, `[::1]:8080`; `*.example.com` is any host under example.com (not
example.com itself: list both).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

_PATTERN = re.compile(r"^(\*\.)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# what every refusal of a run's reach says to do
WIDEN = (
    "a person widens the run's reach: --allow-host HOST (on the process that runs the nodes) "
    "and the workflow's allow_hosts for hosts; --allow-path DIR for files"
)


def pattern_fault(pattern: object) -> str | None:
    """Why `pattern` is not a host pattern, or None."""
    if not isinstance(pattern, str) or not _PATTERN.match(pattern.strip()):
        return (
            f"{pattern!r} is not a host pattern: write a host, host:port or *.domain "
            "(e.g. shop.example, 127.0.0.1:8000, *.example.com)"
        )
    return None


@dataclass(frozen=True)
class HostRule:
    """Every list a host must be on (each a tuple of patterns); none: any host."""

    lists: tuple[tuple[str, ...], ...] = ()
    said: str = ""  # where the lists come from, for a refusal

    @property
    def restricted(self) -> bool:
        return bool(self.lists)

    def allows(self, host: str, port: int | None) -> bool:
        host = host.strip("[]").lower().rstrip(".")
        return all(any(_matches(p, host, port) for p in patterns) for patterns in self.lists)

    def refusal(self, url: str) -> str | None:
        """Why the run may not reach `url` (None: it may; a URL without a host is not this
        rule's business: file:, data:, about:)."""
        parts = urlsplit(url)
        if not parts.hostname or not self.lists:
            return None
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return f"{url} has no valid port"
        if self.allows(parts.hostname, port):
            return None
        return f"{parts.hostname}:{port} is not an allowed host ({self.said})"


def host_rule(process: Sequence[str], workflow: Sequence[str], holder: str = "") -> HostRule:
    """The rule of a run: the process's `--allow-host` list and the workflow's `allow_hosts`
    (each only when given)."""
    lists: list[tuple[str, ...]] = []
    said: list[str] = []
    if process:
        lists.append(tuple(p.strip() for p in process))
        who = f"{holder}'s" if holder else "the process's"
        said.append(f"{who} --allow-host: {', '.join(process)}")
    if workflow:
        lists.append(tuple(p.strip() for p in workflow))
        said.append(f"the workflow's allow_hosts: {', '.join(workflow)}")
    return HostRule(tuple(lists), "; ".join(said))


def _matches(pattern: str, host: str, port: int | None) -> bool:
    found = _PATTERN.match(pattern)
    if found is None:
        return False
    wild, name, wanted = found.group(1), found.group(2).strip("[]").lower(), found.group(3)
    if wanted is not None and port != int(wanted):
        return False
    return host.endswith("." + name) if wild else host == name
