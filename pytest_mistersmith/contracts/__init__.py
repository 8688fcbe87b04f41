"""Contract checks that drive a system under test over real NATS with hypothesis.

::

    from pytest_mistersmith.contracts import ASSIGNMENT_TO_RESULT, check_contract

    @pytest.mark.asyncio
    async def test_agent_answers_assignments(nats_client, my_agent) -> None:
        await check_contract(ASSIGNMENT_TO_RESULT, nats_client, examples=50)

A :class:`Contract` says what is sent (a model on a subject template) and what must follow
(:class:`Expect`: a model on subject templates, how many, which fields must match the sent
ones, which answer is the final word). :func:`check_contract` sends generated payloads, waits
for the answers, checks their shape and correlation, shrinks a failure to the smallest payload
and raises :class:`~pytest_mistersmith.exceptions.ContractViolation` naming the subject, the
payload, what came back (or that nothing did) and the rule broken; the failure replays from
hypothesis' example database. :func:`check_rejects_invalid` sends invalid payloads and checks
that valid ones are still served and, where the contract has a :class:`Rejection`, that an
error report names the broken field: for request-reply contracts a service error reply
(``Nats-Service-Error``, spec-notes 23), never silence. :func:`assert_conforms` checks what a
producer sent.

The ready-made contracts check what the spec says; stricter rules are options
(:meth:`Contract.with_options`: ``same_agent``, ``reports_rejections``) and narrowing the
payloads is :meth:`Contract.narrowed` (spec-notes 26; the README lists every rule).

The ``mistersmith_contracts`` fixture binds the test's client, its node id and the examples of
``--mistersmith-examples`` (ini ``mistersmith_examples``): ``await mistersmith_contracts.check(
ASSIGNMENT_TO_RESULT)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hypothesis import settings as Settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from pytest_mistersmith._profile import CI_PROFILE
from pytest_mistersmith._rules import ViolationKind, rules
from pytest_mistersmith.contracts._case import CaseRunner
from pytest_mistersmith.contracts._judge import describe_errors, show
from pytest_mistersmith.contracts._ready import (
    ASSIGNMENT_TO_RESULT,
    CAPABILITY_QUERY_TO_RESPONSES,
    COMMAND_21_TO_REPLY,
    COMMAND_TO_REPLY,
    DISCOVERY_SERVICE,
    HOOK_EVENT_TO_RESPONSE,
    HOOK_REQUEST_TO_REPLY,
    QUEUED_21_TO_RESULT,
    QUEUED_TO_RESULT,
    READY_MADE,
    STARTUP_TO_RESPONSE,
    capability_contract,
    flow_contract,
)
from pytest_mistersmith.contracts._run import run_examples, settings_for
from pytest_mistersmith.contracts._types import (
    ANY,
    EVENT_ID_HEADER,
    ONE,
    SOME,
    Contract,
    Count,
    Expect,
    Rejection,
    Reply,
)
from pytest_mistersmith.exceptions import ContractViolation

if TYPE_CHECKING:
    from nats.aio.client import Client

__all__ = [
    "ANY",
    "ASSIGNMENT_TO_RESULT",
    "CAPABILITY_QUERY_TO_RESPONSES",
    "CI_PROFILE",
    "COMMAND_21_TO_REPLY",
    "COMMAND_TO_REPLY",
    "DISCOVERY_SERVICE",
    "EVENT_ID_HEADER",
    "HOOK_EVENT_TO_RESPONSE",
    "HOOK_REQUEST_TO_REPLY",
    "ONE",
    "QUEUED_21_TO_RESULT",
    "QUEUED_TO_RESULT",
    "READY_MADE",
    "SOME",
    "STARTUP_TO_RESPONSE",
    "Carried",
    "Contract",
    "ContractChecker",
    "ContractViolation",
    "Count",
    "Expect",
    "Rejection",
    "Reply",
    "assert_conforms",
    "capability_contract",
    "check_contract",
    "check_rejects_invalid",
    "flow_contract",
]

M = TypeVar("M", bound=BaseModel)


async def check_contract(
    contract: Contract,
    client: Client,
    *,
    examples: int | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
    key: str = "",
    reproduce: tuple[str, bytes] | None = None,
) -> None:
    """Drive the system under test with ``examples`` generated payloads; raise on a broken rule.

    ``examples`` defaults to ``settings.max_examples`` (default: the loaded hypothesis
    profile's); ``timeout`` overrides the contract's; ``key`` names the check in hypothesis'
    example database (the fixture passes the test's node id); ``reproduce`` replays a failure
    from the ``(version, blob)`` its report gives.
    """
    if timeout is not None:
        contract = replace(contract, timeout=timeout)
    loop = asyncio.get_running_loop()
    async with CaseRunner(contract, client) as runner:

        def case(payload: bytes) -> str | None:
            return asyncio.run_coroutine_threadsafe(runner.case(payload), loop).result()

        config = settings_for(settings, examples, shrink=True)
        await asyncio.to_thread(
            partial(
                run_examples,
                "check_contract",
                f"{key} {contract.name}",
                contract.strategy(),
                case,
                config,
                reproduce,
            )
        )


def _kinds(
    contract: Contract, kinds: Iterable[ViolationKind | str] | None
) -> Iterable[ViolationKind | str]:
    if kinds is not None:
        return kinds
    return [k for k in rules(contract.send) if k is not ViolationKind.TOO_LARGE]


async def check_rejects_invalid(
    contract: Contract,
    client: Client,
    *,
    examples: int | None = None,
    kinds: Iterable[ViolationKind | str] | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
    key: str = "",
    reproduce: tuple[str, bytes] | None = None,
) -> None:
    """Send invalid payloads, each followed by a valid one, which must still be served.

    Where the contract has a :class:`Rejection` and the invalid payload holds what its subject
    needs (a request always has its inbox), its report must come (``required``; silence fails
    after the timeout) or may come (not required: the case does not wait for it), and one that
    comes must name the broken field and have the report's values. ``kinds`` narrows the
    violations (default: every kind but ``too-large``, which tests the server's limits, not the
    consumer). Not shrunk: a system under test that crashed stays crashed, so every later
    example would fail too and shrinking would blame the wrong payload; the first failing one
    is reported, as sent.
    """
    from pytest_mistersmith.strategies import invalid_payloads

    if timeout is not None:
        contract = replace(contract, timeout=timeout)
    loop = asyncio.get_running_loop()
    strategy = st.tuples(
        invalid_payloads(contract.send, kinds=_kinds(contract, kinds)), contract.strategy()
    )
    async with CaseRunner(contract, client) as runner:

        def case(pair: tuple[Any, bytes]) -> str | None:
            invalid, valid = pair
            job = runner.case(valid, invalid)
            return asyncio.run_coroutine_threadsafe(job, loop).result()

        config = settings_for(settings, examples, shrink=False)
        await asyncio.to_thread(
            partial(
                run_examples,
                "check_rejects_invalid",
                f"{key} {contract.name}",
                strategy,
                case,
                config,
                reproduce,
            )
        )


class Carried(Protocol):
    """A received message: a nats-py ``Msg``, a captured message (``data`` and ``subject``)."""

    @property
    def data(self) -> bytes: ...

    @property
    def subject(self) -> str: ...


def assert_conforms(message: bytes | str | Mapping[str, object] | Carried, model: type[M]) -> M:
    """Check what a producer sent against ``model``; return it parsed, or raise with field errors.

    ``message`` is a payload (bytes or str), a nats-py ``Msg`` or a captured message (anything
    with ``data`` and ``subject``), or a JSON object already parsed.
    """
    subject = getattr(message, "subject", None)
    data = getattr(message, "data", message)
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as error:
        raw = data if isinstance(data, bytes) else str(data).encode("utf-8", "replace")
        where = f" on {subject}" if subject else ""
        raise ContractViolation(
            f"the message{where} does not fit {model.__name__}: {describe_errors(error)}\n"
            f"  payload {show(raw)}"
        ) from None


@dataclass(frozen=True)
class ContractChecker:
    """Contract checks bound to a client, an example count and a database key (the fixture)."""

    client: Client
    examples: int | None = None
    key: str = ""

    async def check(
        self,
        contract: Contract,
        *,
        examples: int | None = None,
        timeout: float | None = None,
        settings: Settings | None = None,
        reproduce: tuple[str, bytes] | None = None,
    ) -> None:
        """:func:`check_contract` with this checker's client, examples (unless given) and key."""
        await check_contract(
            contract,
            self.client,
            examples=examples if examples is not None else self.examples,
            timeout=timeout,
            settings=settings,
            key=self.key,
            reproduce=reproduce,
        )

    async def rejects(
        self,
        contract: Contract,
        *,
        examples: int | None = None,
        kinds: Iterable[ViolationKind | str] | None = None,
        timeout: float | None = None,
        settings: Settings | None = None,
        reproduce: tuple[str, bytes] | None = None,
    ) -> None:
        """:func:`check_rejects_invalid` with this checker's client, examples (unless given)
        and key."""
        await check_rejects_invalid(
            contract,
            self.client,
            examples=examples if examples is not None else self.examples,
            kinds=kinds,
            timeout=timeout,
            settings=settings,
            key=self.key,
            reproduce=reproduce,
        )
