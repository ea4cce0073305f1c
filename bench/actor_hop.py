"""The cost of one message hop between two actors: Weboter's actor (its ZeroMQ socket is its
pykka inbox, runtime/transport/actor.py) against pykka used only through its public API (a
thread that owns the socket hands each message to the actor with `ActorRef.tell`), measured
in the same run, interleaved.

Both sides ping-pong the same msgspec message over inproc ZeroMQ sockets and decode it; a
round is `--hops` hops. Prints µs per hop for each, and the ratio (public API / socket inbox;
the median of the rounds' ratios). A browser node takes three hops (decider → runner → State
Manager); a data node none (the State Manager runs it inline).

    python bench/actor_hop.py [--hops 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any

import pykka
import zmq

from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.bridge import Bridge, encode, message_decoder
from weboter.schemas.messages import JobAccepted, Message

PING = JobAccepted(command_id="c" * 32, run_id="r" * 16)


# --- Weboter's actor: the socket is the inbox ---------------------------------------------


class Bouncer(MessageActor):
    """Sends every message it gets to `peer`, until `hops` were made; then sets `done`."""

    def __init__(self, bridge: Bridge, address: str, peer: str, counter: dict[str, Any]) -> None:
        self.address = address
        super().__init__(bridge)
        self.peer, self.counter = peer, counter

    def handle(self, message: Message) -> None:
        self.counter["hops"] += 1
        if self.counter["hops"] >= self.counter["limit"]:
            self.counter["done"].set()
        else:
            self.send(self.peer, message)


def socket_inbox(hops: int) -> float:
    """Seconds for `hops` hops between two of Weboter's actors."""
    bridge = Bridge(zmq.Context())
    counter: dict[str, Any] = {"hops": 0, "limit": hops, "done": threading.Event()}
    refs = [
        Bouncer.start(bridge, "ping", "pong", counter),
        Bouncer.start(bridge, "pong", "ping", counter),
    ]
    try:
        outbox = bridge.outbox()
        started = time.perf_counter()
        outbox.send("ping", PING)
        assert counter["done"].wait(120), "the hops did not end within 120 s"
        return time.perf_counter() - started
    finally:
        for ref in refs:
            ref.stop()
        bridge.close_outbox()
        bridge.context.term()


# --- pykka's public API: a receiving thread tells the actor ---------------------------------


class Teller(pykka.ThreadingActor):
    """A plain pykka actor: its messages come by `tell` from the thread that owns its socket."""

    def __init__(self, context: zmq.Context[Any], peer: str, counter: dict[str, Any]) -> None:
        super().__init__()
        self.context, self.peer, self.counter = context, peer, counter
        self.push: zmq.Socket[Any] | None = None

    def on_start(self) -> None:
        self.push = self.context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.connect(self.peer)

    def on_stop(self) -> None:
        assert self.push is not None
        self.push.close()

    def on_receive(self, message: Any) -> None:
        decoded = message_decoder.decode(message)
        self.counter["hops"] += 1
        if self.counter["hops"] >= self.counter["limit"]:
            self.counter["done"].set()
        else:
            assert self.push is not None
            self.push.send(encode(decoded))


def receive(context: zmq.Context[Any], endpoint: str, ref: Any, bound: threading.Event) -> None:
    """The thread that owns an actor's socket: every frame becomes a `tell`."""
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.bind(endpoint)
    bound.set()
    try:
        while True:
            frame = pull.recv()
            if frame == b"":
                return
            ref.tell(frame)
    finally:
        pull.close()


def public_api(hops: int) -> float:
    """Seconds for `hops` hops between two pykka actors fed by `tell`."""
    context: zmq.Context[Any] = zmq.Context()
    counter: dict[str, Any] = {"hops": 0, "limit": hops, "done": threading.Event()}
    ends = ["inproc://ping", "inproc://pong"]
    refs = [
        Teller.start(context, ends[1], counter),
        Teller.start(context, ends[0], counter),
    ]
    threads = []
    for endpoint, ref in zip(ends, refs, strict=True):
        bound = threading.Event()
        thread = threading.Thread(target=receive, args=(context, endpoint, ref, bound))
        thread.start()
        bound.wait(10)
        threads.append(thread)
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(ends[0])
    try:
        started = time.perf_counter()
        push.send(encode(PING))
        assert counter["done"].wait(120), "the hops did not end within 120 s"
        return time.perf_counter() - started
    finally:
        for endpoint in ends:  # an empty frame ends a receiving thread
            push.disconnect(ends[0]) if endpoint != ends[0] else None
            stopper = context.socket(zmq.PUSH)
            stopper.setsockopt(zmq.LINGER, 1000)
            stopper.connect(endpoint)
            stopper.send(b"")
            stopper.close()
        for thread in threads:
            thread.join(10)
        for ref in refs:
            ref.stop()
        push.close()
        context.term()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()
    socket_inbox(1000), public_api(1000)  # warm-up, not counted
    ours, theirs, ratios = [], [], []
    for _ in range(args.rounds):
        a = socket_inbox(args.hops) / args.hops * 1e6
        b = public_api(args.hops) / args.hops * 1e6
        ours.append(a)
        theirs.append(b)
        ratios.append(b / a)
    result = {
        "hops": args.hops,
        "socket_inbox_us_per_hop": round(statistics.median(ours), 1),
        "public_api_us_per_hop": round(statistics.median(theirs), 1),
        "ratio_public_over_socket": round(statistics.median(ratios), 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"one hop: socket inbox {result['socket_inbox_us_per_hop']} µs, pykka public API "
        f"(a receiving thread + tell) {result['public_api_us_per_hop']} µs: "
        f"{result['ratio_public_over_socket']}x"
    )


if __name__ == "__main__":
    main()
