"""Contract checks against the responders of ``tests/responders.py`` on a real server."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import InMemoryExampleDatabase
from nats.aio.client import Client

from pytest_mistersmith import contracts
from pytest_mistersmith._profile import CI_PROFILE, register_profile
from pytest_mistersmith._rules import rules
from pytest_mistersmith.contracts import (
    ANY,
    ASSIGNMENT_TO_RESULT,
    CAPABILITY_QUERY_TO_RESPONSES,
    COMMAND_TO_REPLY,
    HOOK_EVENT_TO_RESPONSE,
    ONE,
    SOME,
    Contract,
    ContractChecker,
    ContractViolation,
    Count,
    Expect,
    assert_conforms,
    capability_contract,
    check_contract,
    check_rejects_invalid,
)
from pytest_mistersmith.exceptions import MisterSmithError
from pytest_mistersmith.strategies import ViolationKind
from simulator.protocol.models import AgentStatus, TaskAssignment, TaskResult
from simulator.servers import BinaryServer
from tests.pins import assert_pinned
from tests.responders import Responder
from tests.strategies.test_invalid_payloads import KIND_ERRORS

NO_DB = settings(database=None)
FLOWS = {
    "assignment": ASSIGNMENT_TO_RESULT,
    "command": COMMAND_TO_REPLY,
    "hook": HOOK_EVENT_TO_RESPONSE,
    "capability": capability_contract(responders=1),
}
QUICK = 0.3  # seconds: the timeout of checks that must fail by a missing answer

# --- without a server -------------------------------------------------------------------------


def test_public_names() -> None:
    assert_pinned(
        contracts,
        """
        ANY ASSIGNMENT_TO_RESULT CAPABILITY_QUERY_TO_RESPONSES CI_PROFILE COMMAND_21_TO_REPLY
        Carried COMMAND_TO_REPLY DISCOVERY_SERVICE EVENT_ID_HEADER HOOK_EVENT_TO_RESPONSE
        HOOK_REQUEST_TO_REPLY ONE QUEUED_21_TO_RESULT QUEUED_TO_RESULT READY_MADE SOME
        STARTUP_TO_RESPONSE Contract ContractChecker ContractViolation Count Expect Rejection
        Reply assert_conforms capability_contract check_contract check_rejects_invalid
        flow_contract
        """,
    )


def test_counts_read_as_words() -> None:
    assert [str(c) for c in (ONE, ANY, SOME, Count.exactly(3), Count(1, 2))] == [
        "exactly one",
        "zero or more",
        "at least one",
        "exactly 3",
        "between 1 and 2",
    ]
    assert ONE.admits(1) and not ONE.admits(2) and ANY.admits(0) and not SOME.admits(0)
    with pytest.raises(ValueError, match="min <= max"):
        Count(2, 1)


def test_a_contract_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="at least one Expect"):
        Contract("x", TaskAssignment, "task_assignment", expect=())
    with pytest.raises(ValueError, match=r"reply=Reply.REQUEST"):
        Contract("x", TaskAssignment, "task_assignment", expect=(Expect(TaskResult),))


def test_assert_conforms_returns_the_model_or_names_the_fields() -> None:
    wire = b'{"agent_id":"a-1","status":"idle","timestamp":"2026-01-01T00:00:00Z"}'
    assert assert_conforms(wire, AgentStatus).agent_id == "a-1"
    assert assert_conforms(json.loads(wire), AgentStatus).status == "idle"
    msg = SimpleNamespace(subject="agents.a-1.status", data=wire.replace(b"idle", b"asleep"))
    with pytest.raises(ContractViolation) as info:
        assert_conforms(msg, AgentStatus)
    text = str(info.value)
    assert "on agents.a-1.status does not fit AgentStatus: status Input should be" in text
    assert '"status":"asleep"' in text
    assert isinstance(info.value, AssertionError) and isinstance(info.value, MisterSmithError)


def test_the_ci_profile() -> None:
    register_profile()
    profile = settings.get_profile(CI_PROFILE)
    assert profile.derandomize and profile.print_blob and profile.deadline is None


# --- a correct responder passes every ready-made contract -------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", list(FLOWS))
async def test_a_correct_responder_passes(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    async with Responder(nats_server.client_url, flow) as responder:
        await check_contract(FLOWS[flow], nats_client, examples=25, settings=NO_DB)
    assert responder.handled == 25  # one case per example, nothing shrunk or replayed


@pytest.mark.asyncio
async def test_capability_queries_gather_every_responder(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    url = nats_server.client_url
    async with (
        Responder(url, "capability", agent_id="a"),
        Responder(url, "capability", agent_id="b"),
    ):
        await check_contract(capability_contract(2), nats_client, examples=10, settings=NO_DB)
        await check_contract(CAPABILITY_QUERY_TO_RESPONSES, nats_client, examples=3)
    with pytest.raises(ContractViolation, match="expected exactly 2 CapabilityResponse"):
        async with Responder(url, "capability", agent_id="a"):
            await check_contract(
                capability_contract(2), nats_client, examples=3, timeout=QUICK, settings=NO_DB
            )


@pytest.mark.asyncio
async def test_nobody_answering_a_capability_query_is_fine(nats_client: Client) -> None:
    quick = replace(CAPABILITY_QUERY_TO_RESPONSES, timeout=0.05)
    await check_contract(quick, nats_client, examples=3, settings=NO_DB)


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", list(FLOWS))
async def test_a_correct_responder_rejects_invalid_payloads(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    """Kind by kind: each invalid payload is rejected for the reason its kind names."""
    contract = FLOWS[flow]
    kinds = [k for k in rules(contract.send) if k is not ViolationKind.TOO_LARGE]
    async with Responder(nats_server.client_url, flow) as responder:
        for kind in kinds:
            before = len(responder.rejected)
            await check_rejects_invalid(
                contract, nats_client, examples=4, settings=NO_DB, kinds=[kind]
            )
            found = responder.rejected[before:]
            assert len(found) == 4, kind
            assert all(types <= KIND_ERRORS[kind] for types in found), (kind, found)
    assert responder.invalid == 4 * len(kinds) and responder.crashed is None


# --- broken responders fail, and the report names the fault -----------------------------------

BROKEN = [
    (
        "assignment",
        "wrong-correlation",
        r"TaskResult on tasks\.(\S+)\.result answers no "
        r"TaskAssignment sent: its task_id '\1' does not match the TaskAssignment's task_id",
    ),
    (
        "assignment",
        "missing-result",
        r"expected exactly one TaskResult on tasks\.\S+\.result or "
        rf"tasks\.\S+\.error, got none within {QUICK} s",
    ),
    (
        "assignment",
        "malformed-result",
        r"TaskResult on tasks\.\S+\.result does not fit "
        r"TaskResult: status Input should be",
    ),
    ("assignment", "duplicate", r"expected exactly one TaskResult on .*, got 2"),
    (
        "command",
        "wrong-correlation",
        r"agent_id of the CommandReply on _INBOX\.\S+ "
        r"\('someone-else'\) does not match the AgentCommand's agent_id",
    ),
    ("command", "missing-result", r"expected exactly one CommandReply on the reply inbox"),
    ("command", "malformed-result", r"does not fit CommandReply: status"),
    (
        "hook",
        "wrong-correlation",
        r"HookResponse on cli\.responses\.\S+ carries no "
        r"Mistersmith-Event-Id header",
    ),
    (
        "hook",
        "missing-result",
        r"expected exactly one HookResponse on cli\.responses\.\S+, got "
        r"none",
    ),
    ("hook", "malformed-result", r"does not fit HookResponse: decision"),
    (
        "hook",
        "wrong-subject",
        r"an answer to the HookEvent came on cli\.responses\.someone-else, where none is due "
        r"\(due: HookResponse on cli\.responses\.\S+\)",
    ),
    (
        "assignment",
        "late-progress",
        r"tasks\.\S+\.progress came after the final TaskResult, which ends the flow",
    ),
    (
        "capability",
        "wrong-correlation",
        r"query_id of the CapabilityResponse .* does not match "
        r"the CapabilityQuery's query_id",
    ),
    (
        "capability",
        "malformed-result",
        r"does not fit CapabilityResponse: availability Field "
        r"required",
    ),
]


def first_line(error: BaseException) -> str:
    """The report's first line: the contract and the first rule broken."""
    return str(error).splitlines()[0]


@pytest.mark.asyncio
@pytest.mark.parametrize(("flow", "fault", "rule"), BROKEN, ids=[f"{f}-{x}" for f, x, _ in BROKEN])
async def test_a_broken_responder_fails_naming_the_fault(
    nats_server: BinaryServer, nats_client: Client, flow: str, fault: str, rule: str
) -> None:
    contract = FLOWS[flow]
    async with Responder(nats_server.client_url, flow, fault):
        with pytest.raises(ContractViolation) as info:
            await check_contract(contract, nats_client, examples=20, timeout=QUICK, settings=NO_DB)
    assert re.search(rule, first_line(info.value)), str(info.value)
    report = str(info.value)
    assert f"contract {contract.name!r} broken" in report
    assert re.search(r"\n  sent on \S+", report)  # the subject sent to, then the payload
    assert "received" in report and "rules broken:" in report
    assert any(
        note.startswith("Failing test case") for note in getattr(info.value, "__notes__", [])
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", list(FLOWS))
async def test_a_responder_that_crashes_on_a_bad_field_fails(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    async with Responder(nats_server.client_url, flow, "crash-on-bad-field") as responder:
        with pytest.raises(ContractViolation) as info:
            await check_rejects_invalid(
                FLOWS[flow], nats_client, examples=20, timeout=QUICK, settings=NO_DB
            )
    assert responder.crashed is not None
    report = str(info.value)
    assert "after the invalid payload, the valid one: expected exactly one" in report
    assert re.search(r"\n  invalid payload \([a-z-]+( at \S+)?\) on \S+", report)


@pytest.mark.asyncio
@pytest.mark.parametrize("flow", ["assignment", "hook"])
async def test_a_rejection_must_name_the_field(
    nats_server: BinaryServer, nats_client: Client, flow: str
) -> None:
    async with Responder(nats_server.client_url, flow, "vague-rejection"):
        with pytest.raises(ContractViolation, match="the report does not name the field"):
            await check_rejects_invalid(
                FLOWS[flow],
                nats_client,
                examples=30,
                settings=NO_DB,
                kinds=["missing", "type", "enum"],
            )


# --- shrinking, the example database, replay --------------------------------------------------

REQUIRED = {"task_id", "task_type", "assigned_agent", "timestamp"}


def sent_payload(error: BaseException) -> dict[str, Any]:
    """The payload the report says was sent (the valid one)."""
    lines = str(error).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  sent on "))
    payload: dict[str, Any] = json.loads(lines[at + 1])
    return payload


@pytest.mark.asyncio
async def test_a_failure_shrinks_to_the_smallest_payload(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    async with Responder(nats_server.client_url, "assignment", "priority-bug"):
        with pytest.raises(ContractViolation) as info:
            await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=100, settings=NO_DB)
    payload = sent_payload(info.value)
    assert set(payload) == REQUIRED | {"priority"}  # only what the failure needs
    assert "does not fit TaskResult: status" in first_line(info.value)


@pytest.mark.asyncio
async def test_a_failure_replays_from_the_database(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    db = settings(database=InMemoryExampleDatabase())
    async with Responder(nats_server.client_url, "assignment", "priority-bug"):
        with pytest.raises(ContractViolation) as first:
            await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=100, settings=db)
    async with Responder(nats_server.client_url, "assignment", "priority-bug") as again:
        with pytest.raises(ContractViolation) as second:
            await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=100, settings=db)
    assert again.handled < 10  # the saved failure is the first case tried
    one, two = sent_payload(first.value), sent_payload(second.value)
    assert {k: v for k, v in one.items() if k != "task_id"} == {
        k: v for k, v in two.items() if k != "task_id"
    }


@pytest.mark.asyncio
async def test_a_failure_replays_from_its_blob(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    blob = settings(database=None, print_blob=True)
    async with Responder(nats_server.client_url, "assignment", "priority-bug"):
        with pytest.raises(ContractViolation) as info:
            await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=100, settings=blob)
        note = next(n for n in getattr(info.value, "__notes__", []) if "reproduce=" in n)
        match = re.search(r"reproduce=\('([^']+)', b'([^']+)'\)", note)
        assert match, note
        assert note.startswith("Replay this failure with check_contract(..., reproduce=(")
        with pytest.raises(ContractViolation) as replayed:
            await check_contract(
                ASSIGNMENT_TO_RESULT,
                nats_client,
                settings=NO_DB,
                reproduce=(match[1], match[2].encode()),
            )
    assert set(sent_payload(replayed.value)) == REQUIRED | {"priority"}


# --- the fixture ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_fixture_binds_client_examples_and_key(
    nats_server: BinaryServer,
    nats_client: Client,
    mistersmith_contracts: ContractChecker,
    request: pytest.FixtureRequest,
) -> None:
    assert mistersmith_contracts.client is nats_client
    assert mistersmith_contracts.examples is None  # no --mistersmith-examples: the profile's
    assert mistersmith_contracts.key == request.node.nodeid
    async with Responder(nats_server.client_url, "hook") as responder:
        await mistersmith_contracts.check(HOOK_EVENT_TO_RESPONSE, examples=5, settings=NO_DB)
        await mistersmith_contracts.rejects(HOOK_EVENT_TO_RESPONSE, examples=5, settings=NO_DB)
    assert responder.handled == 5 + 2 * 5
