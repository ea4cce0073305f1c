"""Command ids: every command carries one (a repeated id is the same command: idempotence).
Made here, as random as a uuid4 and cheaper to make."""

from __future__ import annotations

import os


def new_command_id() -> str:
    return os.urandom(16).hex()
