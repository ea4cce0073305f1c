"""All actors of one process, wired to one Bridge: the all-in-one engine.

engine = Engine(Settings(db_path=Path("runs.db")))
engine.start()
with engine.client() as client:
    run_id = client.submit(workflow)
    ended = client.wait(run_id)
engine.stop()
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import pykka
import zmq

from weboter.actors.ai_gateway import AIGateway
from weboter.actors.broker import Broker
from weboter.actors.context_bus import ContextBus
from weboter.actors.executor import ContinuousExecutor, StepExecutor
from weboter.actors.fan_out import FanOut
from weboter.actors.launcher import Launcher
from weboter.actors.node_runner import NodeRunner
from weboter.actors.state_manager import StateManager
from weboter.runtime.actions import default_catalog
from weboter.runtime.actions.inline import Inline
from weboter.runtime.ai.models import ModelConfig
from weboter.runtime.browser.host import BrowserHost
from weboter.runtime.core.admission import Admission
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.hooks import HookRegistry
from weboter.runtime.core.references import EnvSource
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.engine.owners import RunOwners
from weboter.runtime.engine.settings import Settings
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.leases import LeaseKeeper
from weboter.runtime.store.location import shared
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.workspace import Workspace
from weboter.runtime.transport.actor import started_ok, stop_actor
from weboter.runtime.transport.bridge import Bridge
from weboter.runtime.transport.memory import MemoryBridge
from weboter.runtime.transport.seam import Transport
from weboter.runtime.transport.security import start_authenticator
from weboter.schemas.events import ENGINE_STOPPED
from weboter.schemas.state import RunState

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        catalog: Catalog | None = None,
        env: EnvSource | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.catalog = catalog or default_catalog()
        self.env = env or EnvSource()
        self.context: zmq.Context[Any] = zmq.Context()
        self.bridge: Transport = self._transport()
        self.bus_endpoint = f"inproc://weboter-bus-{uuid.uuid4().hex}"
        self.hooks = HookRegistry()  # register pre_node_execute handlers before start()
        # the run slots (max_runs) and the queue's bound, shared by the Launcher and executor
        self.admission = Admission(self.settings.max_runs, self.settings.max_queue)
        self._refs: list[pykka.ActorRef[Any]] = []
        self._clients: list[EngineClient] = []  # open ones; each removes itself on close
        self._clients_lock = threading.Lock()
        self._auth: Any = None
        self._leases: LeaseKeeper | None = None  # a shared log: the runs it drives, renewed

    def _transport(self) -> Transport:
        s = self.settings
        if s.transport == "memory":
            if s.command_endpoint or s.catchup_endpoint:
                raise WeboterError(
                    "the in-memory transport cannot listen for other processes",
                    hint="use transport='zmq' (the default) with command/catch-up endpoints",
                )
            return MemoryBridge(self.context)
        return Bridge(
            self.context,
            command_endpoint=s.command_endpoint,
            catchup_endpoint=s.catchup_endpoint,
            curve=s.curve,
            owners=None
            if s.curve is None
            else RunOwners(
                s.db_path,
                frozenset(k.decode() for k in s.curve.operators),
                frozenset(k.decode() for k in s.curve.readers),
            ),
        )

    @property
    def db_path(self) -> Path:
        return self.settings.db_path

    def start(self) -> Engine:
        """Start the bridge and every actor; on failure, undo what started and re-raise."""
        try:
            self._start()
            for ref in self._refs:
                started_ok(ref)  # a socket that cannot bind stops the start, with its reason
            return self
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        # Open (and if need be create) the log here first, so a bad --db fails before any
        # actor starts, with the log's own error.
        EventLog(self.db_path, durability=self.settings.durability).close()
        s = self.settings
        if shared(s.db_path):
            self._leases = LeaseKeeper(s.db_path).start()
        if s.curve is not None:  # before any socket binds: ZAP must be in place
            self._auth = start_authenticator(self.context, s.curve)
        self.bridge.start()
        bus = ContextBus.start(
            self.bridge,
            s.db_path,
            [self.bus_endpoint, *s.bus_endpoints],
            s.curve,
            context=self.context,
        )
        inline = self._inline()  # what the State Manager and the Node Runner run nodes with
        actors: list[tuple[str, pykka.ActorRef[Any]]] = [
            ("bus", bus),
            (
                "state_manager",
                StateManager.start(
                    self.bridge,
                    s.db_path,
                    self.catalog,
                    self.env,
                    durability=s.durability,
                    snapshot_every=s.snapshot_every,
                    inline=None if s.workers_endpoint is not None else inline,
                    hooks=self.hooks,
                ),
            ),
            ("node_runner", self._node_runner(inline)),
            (
                "ai_gateway",
                AIGateway.start(
                    self.bridge, s.db_path, s.model or ModelConfig.from_env(), self.env
                ),
            ),
            ("fan_out", FanOut.start(self.bridge, s.db_path, self.catalog, self.env)),
            (
                "continuous_executor",
                ContinuousExecutor.start(self.bridge, hooks=self.hooks, admission=self.admission),
            ),
            ("step_executor", StepExecutor.start(self.bridge, hooks=self.hooks)),
            (
                "launcher",
                Launcher.start(
                    self.bridge,
                    self.catalog,
                    s.db_path,
                    max_nodes=s.max_nodes,
                    env=self.env,
                    on_error=s.on_error,
                    evidence=s.evidence,
                    admission=self.admission,
                ),
            ),
        ]
        for _address, ref in actors:
            self._refs.append(ref)

    def _node_runner(self, inline: Inline) -> pykka.ActorRef[Any]:
        """The Node Runner, or the broker to worker processes that run nodes instead."""
        s = self.settings
        if s.workers_endpoint is not None:
            return Broker.start(
                self.bridge,
                s.db_path,
                s.workers_endpoint,
                s.curve,
                self.env,
                context=self.context,
                heartbeat=s.heartbeat,
            )
        return NodeRunner.start(
            self.bridge,
            self.catalog,
            self.env,
            artifacts=inline.artifacts,
            evidence=s.evidence,
            browser=BrowserHost(
                executable=s.browser,
                headless=s.headless,
                files=inline.workspace,
                allow_hosts=s.allow_hosts,
                holder=s.process,
            ),
            restore=s.browser_restore,
            db_path=s.db_path,
            workspace=inline.workspace,
            node_timeout=s.node_timeout or None,
        )

    def _inline(self) -> Inline:
        """What a node run inline needs: the engine's actions, $env, artifacts, workspace.
        Without workers the State Manager runs stretches of such nodes itself; with workers
        every node goes to one (their $env and files are theirs)."""
        s = self.settings
        workspace = Workspace.beside(s.db_path, s.workspace, s.allow_paths)
        return Inline(self.catalog, self.env, ArtifactStore.beside(s.db_path), workspace)

    def stop(self) -> None:
        """Stop every actor and the bridge. Clients still open are closed (call this from the
        thread that used them: ZeroMQ sockets belong to one thread)."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        for ref in reversed(self._refs):
            with contextlib.suppress(pykka.ActorDeadError):
                stop_actor(ref, timeout=10)
        self._refs.clear()
        if self._leases is not None:
            self._leases.stop()
            self._leases = None
        self.bridge.stop()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if not self.context.closed:
            self.context.term()

    def pause_driven(self, reason: str) -> list[str]:
        """Record every run this process drives as PAUSED now (`reason`), so any process can
        go on with it later (`continue`) without a resume: before stopping for good. No
        queued run starts from now on: a stopping `serve` (`ENGINE_STOPPED`) leaves its QUEUED
        runs so, for its restart to take up in order; any other engine pauses them too. The item
        runs of a FanOut whose parent is paused here too are left as they are: the parent takes
        them up when it goes on (a paused item would be an item that did not complete)."""
        self.admission.close()
        with Reader(self.db_path) as reader:
            driven = reader.driven_here(queued=reason != ENGINE_STOPPED)
            runs = [r for r in driven if not _item_of(reader.state(r), driven)]
        paused = []
        with self.client(follow=False) as client:
            for run_id in runs:
                try:
                    RunHandle(run_id, through_engine(client, 10)).pause(reason, now=True)
                    paused.append(run_id)
                except WeboterError:  # it came to rest meanwhile
                    continue
        return paused

    def event_socket(self) -> zmq.Socket[Any]:
        """A SUB socket on this engine's event stream (subscribe to what you need)."""
        sub = self.context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(self.bus_endpoint)
        return sub

    def forget_client(self, client: EngineClient) -> None:
        """A client closed: the engine need not close it at stop (servers make many)."""
        with self._clients_lock:
            if client in self._clients:
                self._clients.remove(client)

    def client(self, *, follow: bool = True) -> EngineClient:
        """A client in the calling thread; `follow`: receive the event stream (progress)."""
        client = EngineClient(self, follow=follow)
        with self._clients_lock:
            self._clients.append(client)
        return client

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _item_of(state: RunState, runs: list[str]) -> bool:
    """The run is an item run of one of `runs`."""
    return state.item_of is not None and state.item_of.run in runs
