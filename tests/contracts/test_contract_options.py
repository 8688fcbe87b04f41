"""The ready-made contracts' optional rules (spec-notes 26), narrowing, and the rejection of
malformed requests by a service error reply (spec-notes 23)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from nats.aio.client import Client

from pytest_mistersmith.contracts import (
    ASSIGNMENT_TO_RESULT,
    CAPABILITY_QUERY_TO_RESPONSES,
    COMMAND_21_TO_REPLY,
    COMMAND_TO_REPLY,
    HOOK_EVENT_TO_RESPONSE,
    HOOK_REQUEST_TO_REPLY,
    QUEUED_21_TO_RESULT,
    QUEUED_TO_RESULT,
    READY_MADE,
    SOME,
    STARTUP_TO_RESPONSE,
    ContractViolation,
    Rejection,
    Reply,
    capability_contract,
    check_contract,
    check_rejects_invalid,
)
from simulator.servers import BinaryServer
from tests.responders import Responder

NO_DB = settings(database=None)
QUICK = 0.3  # seconds: the timeout of checks that must fail by a missing answer
AGENT_MISMATCH = (
    r"agent_id of the TaskResult on tasks\.\S+\.result \('responder-1'\) does not match the "
    r"TaskAssignment's assigned_agent"
)

# --- the defaults, as spec-notes 26 decides them ------------------------------------------------


def test_the_defaults_of_the_ready_made_contracts() -> None:
    """Lenient where the spec is silent (task flows), strict where it addresses or waits."""
    for task in (ASSIGNMENT_TO_RESULT, QUEUED_TO_RESULT, QUEUED_21_TO_RESULT):
        assert task.agent_field == "assigned_agent" and not task.same_agent
        assert task.rejection is not None and not task.rejection.required
    for command in (COMMAND_TO_REPLY, COMMAND_21_TO_REPLY):
        assert command.agent_field == "agent_id" and command.same_agent
    for hook in (HOOK_EVENT_TO_RESPONSE, STARTUP_TO_RESPONSE):
        assert hook.rejection is not None and hook.rejection.required
    requests = [c for c in READY_MADE if c.reply is Reply.REQUEST]
    expected = (COMMAND_TO_REPLY, COMMAND_21_TO_REPLY, HOOK_REQUEST_TO_REPLY)
    assert {c.name for c in requests} == {
        c.name for c in (*expected, CAPABILITY_QUERY_TO_RESPONSES)
    }
    for request in requests:  # every request-reply contract wants the service error reply
        assert request.rejection is not None and request.rejection.model is None
        assert request.rejection.required
    assert CAPABILITY_QUERY_TO_RESPONSES.rejection is not None
    assert CAPABILITY_QUERY_TO_RESPONSES.rejection.count == SOME
    two = capability_contract(2).rejection
    assert two is not None and (two.count.min, two.count.max) == (2, 2)


def test_options_name_what_does_not_apply() -> None:
    with pytest.raises(ValueError, match=r"'hook event to hook response': same_agent: its "):
        HOOK_EVENT_TO_RESPONSE.with_options(same_agent=True)
    strict = ASSIGNMENT_TO_RESULT.with_options(same_agent=True, reports_rejections=True)
    assert strict.same_agent and strict.rejection is not None and strict.rejection.required
    assert not ASSIGNMENT_TO_RESULT.same_agent  # a new contract, the ready-made one unchanged
    assert ASSIGNMENT_TO_RESULT.with_options(timeout=0.5).timeout == 0.5
    with pytest.raises(ValueError, match="answers on the reply inbox"):
        Rejection(None, ("task_error",), ("x",))


def test_narrowing_is_checked_and_narrows_what_is_sent() -> None:
    with pytest.raises(ValueError, match=r"narrowed\(agent=\.\.\.\): TaskAssignment has no "):
        ASSIGNMENT_TO_RESULT.narrowed(agent=["a"])
    with pytest.raises(ValueError, match=r"\['startup'\] not among the values its channel"):
        HOOK_EVENT_TO_RESPONSE.narrowed(hook_type=["startup"])
    with pytest.raises(ValueError, match="one or more strings"):
        ASSIGNMENT_TO_RESULT.narrowed(task_type=[])
    assert ASSIGNMENT_TO_RESULT.narrowed(task_type="analysis").values["task_type"] == ("analysis",)
    narrow = ASSIGNMENT_TO_RESULT.narrowed(task_type=["analysis"], assigned_agent=["a-1", "a-2"])
    assert narrow.values["assigned_agent"] == ("a-1", "a-2")
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=30, database=None)
    @given(narrow.strategy())
    def sent(payload: bytes) -> None:
        body = json.loads(payload)
        seen.add((body["task_type"], body["assigned_agent"]))

    sent()
    assert seen and seen <= {("analysis", "a-1"), ("analysis", "a-2")}


# --- the optional rules, over a real server ---------------------------------------------------


@pytest.mark.asyncio
async def test_any_worker_may_answer_unless_same_agent_is_asked(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    """A worker answering with its own id passes by default and fails ``same_agent``."""
    async with Responder(nats_server.client_url, "assignment", "own-agent-id"):
        await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=10, settings=NO_DB)
        strict = ASSIGNMENT_TO_RESULT.with_options(same_agent=True)
        with pytest.raises(ContractViolation, match=AGENT_MISMATCH):
            await check_contract(strict, nats_client, examples=5, settings=NO_DB)


@pytest.mark.asyncio
async def test_a_rejected_assignment_need_not_be_reported_unless_asked(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    kinds = ["missing", "type", "enum"]
    async with Responder(nats_server.client_url, "assignment", "silent-rejection"):
        await check_rejects_invalid(
            ASSIGNMENT_TO_RESULT, nats_client, examples=15, settings=NO_DB, kinds=kinds
        )
        strict = ASSIGNMENT_TO_RESULT.with_options(reports_rejections=True, timeout=QUICK)
        with pytest.raises(ContractViolation, match=r"expected exactly one TaskResult on "):
            await check_rejects_invalid(
                strict, nats_client, examples=15, settings=NO_DB, kinds=kinds
            )


# --- a malformed request gets a service error reply -------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", ["command", "capability"])
async def test_a_service_error_reply_passes_rejects(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    contract = COMMAND_TO_REPLY if flow == "command" else capability_contract(1)
    async with Responder(nats_server.client_url, flow) as responder:
        await check_rejects_invalid(contract, nats_client, examples=15, settings=NO_DB)
    assert responder.invalid == 15


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", ["command", "capability"])
async def test_a_responder_silent_on_a_malformed_request_fails_rejects(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    contract = COMMAND_TO_REPLY if flow == "command" else CAPABILITY_QUERY_TO_RESPONSES
    async with Responder(nats_server.client_url, flow, "silent-rejection"):
        with pytest.raises(ContractViolation) as info:
            await check_rejects_invalid(
                contract, nats_client, examples=5, settings=NO_DB, timeout=QUICK
            )
        lenient = contract.with_options(reports_rejections=False)
        await check_rejects_invalid(lenient, nats_client, examples=5, settings=NO_DB)
    first = str(info.value).splitlines()[0]
    assert "the invalid payload" in first and "error reply (Nats-Service-Error" in first
    assert "on the reply inbox _INBOX." in first and "got none within 0.3 s (silence)" in first


@pytest.mark.asyncio
async def test_the_error_reply_must_name_the_field(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    async with Responder(nats_server.client_url, "command", "vague-rejection"):
        with pytest.raises(
            ContractViolation, match=r"the error reply does not name the field '.+' in "
        ):
            await check_rejects_invalid(
                COMMAND_TO_REPLY, nats_client, examples=20, settings=NO_DB, kinds=["missing"]
            )


@pytest.mark.asyncio
async def test_a_normal_reply_to_a_malformed_request_fails(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    """Answering an invalid request as a valid one is no rejection."""

    async def answer(msg: object) -> None:
        reply = getattr(msg, "reply", "")
        body = b'{"agent_id":"a","status":"idle","timestamp":"2026-01-01T00:00:00Z"}'
        await nats_client.publish(reply, body)

    sub = await nats_client.subscribe("agents.*.commands.*", cb=answer)
    try:
        with pytest.raises(ContractViolation, match="is no service error: no Nats-Service-Error"):
            await check_rejects_invalid(
                COMMAND_TO_REPLY.with_options(same_agent=False),
                nats_client,
                examples=5,
                settings=NO_DB,
                kinds=["missing"],
            )
    finally:
        await sub.unsubscribe()


@pytest.mark.asyncio
async def test_invalid_payloads_keep_the_narrowed_values(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    """Every command, valid or not, goes to the one agent the contract is narrowed to, but
    where the invalid payload breaks the subject's own token (then the valid one's is used)."""
    seen: list[str] = []

    async def record(msg: object) -> None:
        seen.append(getattr(msg, "subject", ""))

    sub = await nats_client.subscribe("agents.*.commands.*", cb=record)
    try:
        async with Responder(nats_server.client_url, "command"):
            mine = COMMAND_TO_REPLY.narrowed(agent_id=["agent-7"], command_type=["pause"])
            await check_rejects_invalid(mine, nats_client, examples=20, settings=NO_DB)
    finally:
        await sub.unsubscribe()
    assert len(seen) == 40
    assert set(seen) == {"agents.agent-7.commands.pause"}
