"""What every message shares: tagged, frozen msgspec Structs; a command names its run, who
asks (`reply_to`) and its id (`command_id`, for idempotence)."""

from __future__ import annotations

from typing import Literal

import msgspec

Mode = Literal["continuous", "step"]


class _Msg(msgspec.Struct, frozen=True, tag=True, omit_defaults=True):
    pass


class _Command(_Msg, frozen=True):
    """A command about one run: who asks (`reply_to`) and its id (`command_id`, idempotence)."""

    command_id: str
    run_id: str
    reply_to: str
