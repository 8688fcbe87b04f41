"""Small systems under test for the contract checks: a correct responder per flow, and broken ones.

Each :class:`Responder` serves one flow on a connection of its own, as a task reading its
subscription: a handler that raises ends the task, so a responder that crashes on a bad field
stops serving, as a real one would. ``fault`` picks a broken variant:

* ``wrong-correlation``: answers with the wrong id (a new task id, another agent, no event
  header, another query id);
* ``missing-result``: answers nothing final (progress lines only, no reply, no response);
* ``malformed-result``: the final answer breaks its model (a status outside the enum, ...);
* ``duplicate``: the final answer twice;
* ``crash-on-bad-field``: crashes on the first payload that does not fit its model;
* ``vague-rejection``: reports a rejected payload without naming the field;
* ``priority-bug``: a malformed result, only for assignments that have a ``priority``;
* ``late-progress``: a progress line after the final result;
* ``wrong-subject``: the hook response on another agent's ``cli.responses`` subject;
* ``silent-rejection``: says nothing to a malformed request (no service error reply);
* ``own-agent-id``: answers an assignment with its own ``agent_id``, not the assigned agent's.

A correct responder answers a malformed request with a service error reply (spec-notes 23)
and reports a rejected assignment or hook event where its ``task_id`` / agent is readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from pytest_mistersmith.contracts import DISCOVERY_SERVICE, EVENT_ID_HEADER
from simulator.bus import settle
from simulator.errors import SubjectError
from simulator.protocol import subjects
from simulator.protocol.headers import SERVICE_ERROR, SERVICE_ERROR_CODE
from simulator.protocol.models import (
    AgentCommand,
    AgentState,
    Availability,
    CapabilityQuery,
    CapabilityResponse,
    HookDecision,
    HookEvent,
    HookResponse,
    OutputStatus,
    TaskAssignment,
    TaskInfo,
    TaskInfoType,
    TaskOutput,
    TaskResult,
    TaskStatus,
)

__all__ = ["FAULTS", "FLOWS", "Responder"]

FLOWS = ("assignment", "command", "hook", "capability")
FAULTS = (
    "wrong-correlation",
    "missing-result",
    "malformed-result",
    "duplicate",
    "crash-on-bad-field",
    "vague-rejection",
    "priority-bug",
    "late-progress",
    "wrong-subject",
    "silent-rejection",
    "own-agent-id",
)

_LISTEN = {
    "assignment": subjects.template("task_assignment").wildcard,
    "command": subjects.template("agent_commands").wildcard,
    "hook": subjects.template("cli_hook").wildcard,
    "capability": subjects.system_discovery(DISCOVERY_SERVICE),
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _wire(model: BaseModel) -> bytes:
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()


def _fields(error: ValidationError) -> str:
    return ", ".join(".".join(str(p) for p in e["loc"]) or "<payload>" for e in error.errors())


def _read(data: bytes, name: str) -> Any:
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


class Responder:
    """One flow served on its own connection to ``url``; an async context manager."""

    def __init__(
        self, url: str, flow: str, fault: str | None = None, agent_id: str = "responder-1"
    ) -> None:
        if flow not in FLOWS or (fault is not None and fault not in FAULTS):
            raise ValueError(f"flow {flow!r} / fault {fault!r}: flows {FLOWS}, faults {FAULTS}")
        self.url, self.flow, self.fault, self.agent_id = url, flow, fault, agent_id
        self.handled = 0
        self.invalid = 0
        #: The pydantic error types of each payload rejected, in order.
        self.rejected: list[frozenset[str]] = []
        self.crashed: BaseException | None = None
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        handlers: dict[str, Callable[[Msg], Awaitable[None]]] = {
            "assignment": self._assignment,
            "command": self._command,
            "hook": self._hook,
            "capability": self._capability,
        }
        self._handle = handlers[flow]

    async def __aenter__(self) -> Responder:
        self._client = await nats.connect(self.url, name=f"responder {self.flow} {self.fault}")
        sub = await self._client.subscribe(_LISTEN[self.flow])
        await settle(self._client)
        self._task = asyncio.create_task(self._serve(sub.messages))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.close()

    async def _serve(self, messages: Any) -> None:
        try:
            async for msg in messages:
                self.handled += 1
                await self._handle(msg)
        except ValidationError as error:  # crash-on-bad-field: stop serving
            self.crashed = error

    @property
    def client(self) -> Client:
        """The responder's own connection."""
        assert self._client is not None
        return self._client

    def _rejected(self, error: ValidationError) -> str:
        """Count a rejected payload (or crash on it); the fields to name in the report."""
        self.invalid += 1
        self.rejected.append(frozenset(e["type"] for e in error.errors()))
        if self.fault == "crash-on-bad-field":
            raise error
        return "something is wrong" if self.fault == "vague-rejection" else _fields(error)

    async def _refuse(self, msg: Msg, fields: str) -> None:
        """Answer a malformed request with a service error reply, unless told to stay silent."""
        if msg.reply and self.fault != "silent-rejection":
            headers = {SERVICE_ERROR: f"invalid payload: {fields}", SERVICE_ERROR_CODE: "400"}
            await self.client.publish(msg.reply, b"", headers=headers)

    async def _final(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        for _ in range(2 if self.fault == "duplicate" else 1):
            await self.client.publish(subject, payload, headers=headers)

    # --- assignment -> progress, result ---------------------------------------------------------

    async def _assignment(self, msg: Msg) -> None:
        try:
            task = TaskAssignment.model_validate_json(msg.data)
        except ValidationError as error:
            fields = self._rejected(error)
            task_id = _read(msg.data, "task_id")
            if self.fault == "silent-rejection":
                return
            with contextlib.suppress(SubjectError, TypeError):
                report = {
                    "task_id": task_id,
                    "agent_id": self.agent_id,
                    "status": "failed",
                    "timestamp": _now().isoformat(),
                    "error_details": {
                        "error_code": "invalid_payload",
                        "error_message": f"invalid TaskAssignment: {fields}",
                    },
                }
                await self.client.publish(subjects.task_error(task_id), json.dumps(report).encode())
            return
        worker = self.agent_id if self.fault == "own-agent-id" else task.assigned_agent
        output = TaskOutput(
            task_info=TaskInfo(type=TaskInfoType.AGENT_ID, value=task.assigned_agent),
            output_line=f"working on {task.task_type}",
            task_status=OutputStatus.RUNNING,
            timestamp=_now(),
            agent_id=worker,
        )
        await self.client.publish(subjects.task_progress(task.task_id), _wire(output))
        if self.fault == "missing-result":
            return
        task_id = str(uuid.uuid4()) if self.fault == "wrong-correlation" else task.task_id
        done = TaskResult(
            task_id=task_id,
            agent_id=worker,
            status=TaskStatus.COMPLETED,
            timestamp=_now(),
            execution_time_ms=3,
        )
        result: dict[str, Any] = json.loads(_wire(done))
        if self.fault == "malformed-result" or (
            self.fault == "priority-bug" and task.priority is not None
        ):
            result["status"] = "done"
        await self._final(subjects.task_result(task_id), json.dumps(result).encode())
        if self.fault == "late-progress":
            await self.client.publish(subjects.task_progress(task.task_id), _wire(output))

    # --- command -> status reply ----------------------------------------------------------------

    async def _command(self, msg: Msg) -> None:
        try:
            command = AgentCommand.model_validate_json(msg.data)
        except ValidationError as error:
            await self._refuse(msg, self._rejected(error))
            return
        if self.fault == "missing-result":
            return
        agent = "someone-else" if self.fault == "wrong-correlation" else command.agent_id
        busy = command.command_type.value in {"execute", "resume"}
        reply: dict[str, Any] = {
            "agent_id": agent,
            "status": "busy" if busy else "idle",
            "timestamp": _now().isoformat(),
        }
        if self.fault == "malformed-result":
            reply["status"] = "sleeping"
        await self._final(command.reply_to or msg.reply, json.dumps(reply).encode())

    # --- hook event -> hook response ------------------------------------------------------------

    async def _hook(self, msg: Msg) -> None:
        event_id = (msg.headers or {}).get(EVENT_ID_HEADER, "")
        headers = {EVENT_ID_HEADER: event_id}
        agent_id = subjects.parse(msg.subject).params["agent_id"]
        try:
            event = HookEvent.model_validate_json(msg.data)
        except ValidationError as error:
            fields = self._rejected(error)
            if self.fault == "silent-rejection":
                return
            block = HookResponse(decision=HookDecision.BLOCK, reason=f"invalid HookEvent: {fields}")
            await self.client.publish(
                subjects.cli_response(agent_id), _wire(block), headers=headers
            )
            return
        if self.fault == "missing-result":
            return
        answer: dict[str, Any] = {"decision": "approve", "reason": f"{event.hook_type} ok"}
        if self.fault == "malformed-result":
            answer["decision"] = "maybe"
        if self.fault == "wrong-correlation":
            headers = {}
        payload = json.dumps(answer).encode()
        agent_id = "someone-else" if self.fault == "wrong-subject" else event.agent_id
        await self._final(subjects.cli_response(agent_id), payload, headers)

    # --- capability query -> responses ----------------------------------------------------------

    async def _capability(self, msg: Msg) -> None:
        try:
            query = CapabilityQuery.model_validate_json(msg.data)
        except ValidationError as error:
            await self._refuse(msg, self._rejected(error))
            return
        if self.fault == "missing-result":
            return
        query_id = str(uuid.uuid4()) if self.fault == "wrong-correlation" else query.query_id
        offer = CapabilityResponse(
            query_id=query_id,
            agent_id=self.agent_id,
            capabilities=[*query.required_capabilities, "review"],
            availability=Availability(status=AgentState.IDLE, capacity=0.5),
            timestamp=_now(),
        )
        response = json.loads(_wire(offer))
        if self.fault == "malformed-result":
            del response["availability"]
        await self._final(query.reply_to or msg.reply, json.dumps(response).encode())
