"""What a client in another process may send, and to whom. Everything else is internal to
the engine (node results, executor traffic, publishing) and is refused with the reason: a
client cannot complete a run with forged outputs or speak for another client.

Every message from a client must also name the client itself in `reply_to` (its socket
identity), so answers go to the one who asked; and a client acts only on its own runs
(runtime/engine/owners.py).
"""

from __future__ import annotations

import msgspec

from weboter.runtime.transport.addresses import (
    BUS,
    CONTINUOUS_EXECUTOR,
    LAUNCHER,
    NODE_RUNNER,
    STATE_MANAGER,
    STEP_EXECUTOR,
)
from weboter.runtime.transport.peers import shown
from weboter.runtime.transport.seam import Authorizer
from weboter.schemas.events import ENGINE_STOPPED
from weboter.schemas.messages import (
    AddNode,
    CatchUp,
    ClearBreakpoint,
    Drive,
    EndSession,
    ForkJob,
    JumpTo,
    LookAtPage,
    Message,
    OpenSession,
    PatchNode,
    PauseRun,
    Ping,
    ResumeJob,
    Rewind,
    SetBreakpoint,
    SetVariable,
    Step,
    Stop,
    SubmitJob,
)

# destination -> the message types a client may send there
CLIENT_MESSAGES: dict[str, tuple[type, ...]] = {
    LAUNCHER: (SubmitJob, ForkJob, ResumeJob),
    STATE_MANAGER: (
        SetBreakpoint,
        ClearBreakpoint,
        SetVariable,
        PatchNode,
        AddNode,
        JumpTo,
        Rewind,
        PauseRun,
        OpenSession,
        EndSession,
    ),
    CONTINUOUS_EXECUTOR: (Drive, Stop),
    STEP_EXECUTOR: (Step, Stop),
    BUS: (CatchUp, Ping),
    NODE_RUNNER: (LookAtPage,),
}

_decoder = msgspec.msgpack.Decoder(Message)
_encoder = msgspec.msgpack.Encoder()


def admit(
    dest: str, payload: bytes, identity: str, client: str = "", owners: Authorizer | None = None
) -> tuple[bytes | None, str | None]:
    """(the payload to deliver, None) when a client's message to `dest` may go through, else
    (None, why). `client`: the CURVE key the connection authenticated with ("" without CURVE);
    a job is stamped with it (`client`), whatever the client wrote there, and `owners` says
    whether the client may act on the run a message names."""
    allowed = CLIENT_MESSAGES.get(dest)
    if allowed is None:
        return (
            None,
            f"clients cannot send to {dest!r} (they may send to {', '.join(CLIENT_MESSAGES)})",
        )
    try:
        message = _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        return None, f"the payload is not a message: {exc}"
    if not isinstance(message, allowed):
        names = ", ".join(t.__name__ for t in allowed)
        return None, (
            f"{type(message).__name__} is internal to the engine; a client may send "
            f"{names} to {dest}"
        )
    if isinstance(message, PauseRun) and message.reason == ENGINE_STOPPED:
        return None, (
            f"reason {ENGINE_STOPPED!r} is the engine's own: a run paused with it is taken up "
            "when the engine starts again; give another reason (or none)"
        )
    reply_to = getattr(message, "reply_to", None)
    if reply_to != identity:
        theirs = shown(reply_to) if isinstance(reply_to, str) else "none"
        return None, f"reply_to must be your own socket identity ({shown(identity)}), not {theirs}"
    why = owners.refusal(client, message) if owners is not None else None
    if why is not None:
        return None, why
    if isinstance(message, (SubmitJob, ForkJob)) and message.client != client:
        return _encoder.encode(msgspec.structs.replace(message, client=client)), None
    if isinstance(message, LookAtPage) and (message.browser is not None or message.allow_hosts):
        # the page to put back and the hosts it may reach come from the log, never from a
        # client (whose state could name another run's stored cookies, or other hosts)
        cleared = msgspec.structs.replace(message, browser=None, allow_hosts=[])
        return _encoder.encode(cleared), None
    return payload, None
