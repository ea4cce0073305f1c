"""The transport: how messages move between actors and clients (ZeroMQ, or in memory for
tests), the actor base class, actor addresses, CURVE security and the event-stream client."""

from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.bridge import Bridge
from weboter.runtime.transport.memory import MemoryBridge
from weboter.runtime.transport.seam import Transport
from weboter.runtime.transport.security import CurveConfig
from weboter.runtime.transport.subscriber import EventStream, subscribe

__all__ = [
    "Bridge",
    "CurveConfig",
    "EventStream",
    "MemoryBridge",
    "MessageActor",
    "Transport",
    "subscribe",
]
