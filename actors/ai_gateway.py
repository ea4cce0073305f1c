"""The AI Gateway actor: the model's part in a run. When a node under `on_error: ai` fails, its
executor asks here (AskRepair); the gateway has the Node Runner describe the run's page
(LookAtPage: its accessibility text, redacted), reads the run from the log, has the model propose
a repair (checked by a dry run: runtime/ai/gateway.py), records it (SuggestRepair) and, when
the model is sure enough and the repair reaches nothing new (runtime/core/containment.py: a
retry, or the failing node's locators, waits, timeouts), applies it (ApplyRepair, source
`model`) so the executor drives on. Otherwise — no model configured, the model failed, too
little confidence, a change that needs approval — it says why (RepairDeclined; a suggestion
held back is recorded with the reason, which the run's state shows) and the run waits in ERROR
for a person. The model call blocks this actor's own thread only; every other run goes on.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from weboter.runtime.ai.gateway import failure_of, propose_repair
from weboter.runtime.ai.models import NOT_CONFIGURED, Model, ModelConfig
from weboter.runtime.core.containment import held_back
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import WeboterError
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import AI_GATEWAY, NODE_RUNNER, STATE_MANAGER
from weboter.runtime.transport.seam import Transport
from weboter.schemas.messages import (
    ApplyRepair,
    AskRepair,
    CommandRejected,
    Committed,
    LookAtPage,
    Message,
    PageLooked,
    RepairDeclined,
    SuggestRepair,
)

log = logging.getLogger(__name__)


class AIGateway(MessageActor):
    address = AI_GATEWAY

    def __init__(
        self, bridge: Transport, db_path: Path, model: ModelConfig | None, env: EnvSource
    ) -> None:
        super().__init__(bridge)
        self.db_path = db_path
        self.env = env  # to keep every `$env` value the run uses away from the model
        self.model = Model(model) if model is not None else None
        self.looking: dict[str, AskRepair] = {}  # LookAtPage command id -> the ask it serves

    def handle(self, message: Message) -> None:
        if isinstance(message, AskRepair):
            self._look(message)
        elif isinstance(message, PageLooked):
            asked = self.looking.pop(message.command_id, None)
            if asked is not None:  # the page as text (redacted), then the model
                self._ask(asked, "" if message.error is not None else message.aria)
        elif isinstance(message, CommandRejected):  # a suggestion the log refused: said there
            log.warning("ai gateway: %s", message.error.message)
        elif not isinstance(message, Committed):
            log.warning("ai gateway: ignored %s", type(message).__name__)

    def _look(self, asked: AskRepair) -> None:
        """First the run's page, from the Node Runner that holds it (a run without a page
        is asked about at once)."""
        if self.model is None:
            self._decline(asked, NOT_CONFIGURED)
            return
        command_id = uuid.uuid4().hex
        self.looking[command_id] = asked
        self.send(
            NODE_RUNNER,
            LookAtPage(command_id=command_id, run_id=asked.run_id, reply_to=self.address),
        )

    def _ask(self, asked: AskRepair, aria: str) -> None:
        assert self.model is not None
        try:
            run_id, state, steps = failure_of(self.db_path, asked.run_id)
            env = self.env.for_run(run_id)
            action, confidence = propose_repair(self.model, state, steps, aria=aria, env=env)
        except WeboterError as exc:
            self._decline(asked, f"the model gave no repair: {exc.message}")
            return
        held = held_back(state, action, confidence)
        self.send(
            STATE_MANAGER,
            SuggestRepair(
                command_id=uuid.uuid4().hex,
                run_id=run_id,
                reply_to=self.address,
                action=action,
                confidence=confidence,
            ),
        )
        if held:
            self._decline(
                asked,
                f"the model suggests {action.kind} ({action.reason}), {held}: waiting for a person",
            )
            return
        self.send(
            STATE_MANAGER,
            ApplyRepair(
                command_id=uuid.uuid4().hex,
                run_id=run_id,
                reply_to=asked.reply_to,  # the executor drives on from the commit
                action=action,
                source="model",
                mode=asked.mode,
                expect_version=state.version + 1,  # right after the suggestion, nothing else
            ),
        )

    def _decline(self, asked: AskRepair, reason: str) -> None:
        self.send(asked.reply_to, RepairDeclined(run_id=asked.run_id, reason=reason))
