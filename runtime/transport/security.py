"""CURVE authentication for the sockets an engine listens on (docs/protocol.md). `weboter
serve` always uses it, on loopback too: without `--curve-key` it keeps its key pair and a
local client's in WEBOTER_HOME/keys/ (mode 0600), and local programs connect with those.

The engine's server key pair encrypts its ROUTER and PUB sockets; a ZAP handler (pyzmq's
ThreadAuthenticator) lets in only clients whose public key is on the allow-list. Keys are Z85
text, as `weboter keys` prints them.

    server = CurveConfig.generate()
    client_public, client_secret = zmq.curve_keypair()
    settings = Settings(curve=server.allowing(client_public), command_endpoint="tcp://0.0.0.0:5601")
    # client: socket.curve_serverkey = server.public_key; its own keys as curve_public/secretkey
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

from weboter.runtime.store.private import create_private, private_folder, replace_private
from weboter.runtime.transport.peers import Refusals

_log = logging.getLogger(__name__)

CLIENTS = "weboter"  # the ZAP domain of the sockets clients use
WORKERS = "weboter-workers"  # the worker endpoint's: a worker's key gets in there only


@dataclass(frozen=True)
class CurveConfig:
    public_key: bytes
    secret_key: bytes
    clients: frozenset[bytes] = field(default_factory=frozenset)  # allowed public keys
    operators: frozenset[bytes] = field(default_factory=frozenset)  # may act on every run
    readers: frozenset[bytes] = field(default_factory=frozenset)  # may only follow and catch up
    workers: frozenset[bytes] = field(default_factory=frozenset)  # may only run nodes

    @classmethod
    def generate(cls) -> CurveConfig:
        public, secret = zmq.curve_keypair()
        return cls(public_key=public, secret_key=secret)

    def allowing(
        self,
        *client_keys: bytes | str,
        operator: bool = False,
        reader: bool = False,
        worker: bool = False,
    ) -> CurveConfig:
        """Let these clients in; an `operator` may act on every run, a `reader` may only
        follow the stream and catch up (every run), a `worker` may only run nodes (on the
        worker endpoint, for the runs leased to it), any other client act only on the runs it
        started (runtime/engine/owners.py)."""
        keys = {k.encode() if isinstance(k, str) else k for k in client_keys}
        return replace(
            self,
            clients=self.clients if worker else self.clients | keys,
            operators=self.operators | keys if operator else self.operators,
            readers=self.readers | keys if reader else self.readers,
            workers=self.workers | keys if worker else self.workers,
        )

    def serve(self, socket: zmq.Socket[Any], domain: str = CLIENTS) -> None:
        """Make `socket` (before bind) a CURVE server with this key pair, admitting the keys of
        `domain`: CLIENTS (commands, catch-up, events) or WORKERS (the worker endpoint)."""
        socket.curve_secretkey = self.secret_key
        socket.curve_publickey = self.public_key
        socket.curve_server = True
        socket.zap_domain = domain.encode()


class _AllowList:
    """ZAP: a client key gets into the clients' sockets, a worker key into the workers'; each
    refusal is logged with why (rate-limited)."""

    def __init__(self, config: CurveConfig) -> None:
        self.allowed = {CLIENTS: config.clients, WORKERS: config.workers}
        self._refusals = Refusals(_log, who="authentication", sender="the key")

    def callback(self, domain: str, key: bytes) -> bool:
        # pyzmq hands the client's key over in binary; the allow-lists are Z85
        text = zmq.utils.z85.encode(key) if len(key) == 32 else key
        keys = self.allowed.get(domain, frozenset())
        if text in keys:
            return True
        where = "the worker endpoint" if domain == WORKERS else "the engine's client sockets"
        self._refusals.refused(text.decode(errors="replace"), f"not a key allowed on {where}")
        return False


def start_authenticator(context: zmq.Context[Any], config: CurveConfig) -> ThreadAuthenticator:
    """A ZAP handler for `context`: only the allow-listed keys get in, each where it may."""
    auth = ThreadAuthenticator(context)
    auth.start()
    allow = _AllowList(config)
    for domain in (CLIENTS, WORKERS):  # every socket names its domain (CurveConfig.serve)
        auth.configure_curve_callback(domain=domain, credentials_provider=allow)
    return auth


def connect_client(
    socket: zmq.Socket[Any], server_public: bytes, public: bytes, secret: bytes
) -> None:
    """Make `socket` (before connect) a CURVE client of a server with `server_public`."""
    socket.curve_serverkey = server_public
    socket.curve_publickey = public
    socket.curve_secretkey = secret


# --- keys kept in WEBOTER_HOME: every client of `weboter serve` authenticates, loopback too --


def _key_file(path: Path) -> tuple[bytes, bytes]:
    """The key pair in `path` (JSON {public, secret}, Z85), made (mode 0600) if missing."""
    if not path.exists():
        private_folder(path.parent)  # keys/ and any folder above it made here: 0700
        public, secret = zmq.curve_keypair()
        pair = {"public": public.decode(), "secret": secret.decode()}
        create_private(path, json.dumps(pair).encode())  # 0600 (or another process's pair)
    keys = json.loads(path.read_text(encoding="utf-8"))
    return keys["public"].encode(), keys["secret"].encode()


def local_keys(home: Path) -> tuple[CurveConfig, tuple[bytes, bytes]]:
    """The engine's key pair and the local client's, kept in `home/keys/` (0600): `serve`
    allows the local client's key as an operator (it may act on every run), and local programs
    connect with it (`client_keys`)."""
    server = _key_file(home / "keys" / "engine.json")
    client = _key_file(home / "keys" / "client.json")
    engine = CurveConfig(public_key=server[0], secret_key=server[1])
    return engine.allowing(client[0], operator=True), client


def worker_keys(home: Path) -> tuple[bytes, bytes]:
    """(public, secret) of the key pair a worker on the engine's own host uses by default,
    kept in `home/keys/worker.json` (0600); `serve --workers` lets it in as a worker."""
    return _key_file(home / "keys" / "worker.json")


SERVING = "serving.pub"  # in home/keys/: the public key the last `serve` there listens with


def client_keys(home: Path) -> tuple[bytes, bytes, bytes]:
    """(engine public key, client public key, client secret key) for a program on this host
    that talks to the `weboter serve` whose home is `home` (pass them to `connect_client`):
    the key that serve said it listens with (its --curve-key's too), else keys/engine.json's."""
    server, (public, secret) = local_keys(home)
    serving = home / "keys" / SERVING
    if serving.exists():
        return serving.read_text(encoding="utf-8").strip().encode(), public, secret
    return server.public_key, public, secret


def say_serving(home: Path, public_key: bytes) -> None:
    """Record the public key an engine listens with, for programs on this host."""
    keys = private_folder(home / "keys")
    replace_private(keys / SERVING, public_key.decode().encode() + b"\n")
