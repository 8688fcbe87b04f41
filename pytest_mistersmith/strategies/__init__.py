"""Hypothesis strategies for the Mister Smith transport: messages, payloads, subjects, invalid ones.

::

    from hypothesis import given, strategies as st
    from pytest_mistersmith.strategies import Violation, invalid_payloads, payloads, subjects
    from simulator.protocol.models import AgentStatus

    @given(payloads(AgentStatus, status=st.just("busy")), subjects("agent_status"))
    def test_consumer_accepts(payload: bytes, subject: str) -> None: ...

    @given(invalid_payloads(AgentStatus))
    def test_consumer_rejects(case: tuple[bytes, Violation]) -> None:
        payload, violation = case  # violation.field names the broken field

Values look real (Faker: agent ids like ``coder-7``, model names like ``claude-sonnet-4``, tool
inputs like ``{"command": "ls -la"}``, file paths, log lines) yet replay and shrink like any
strategy. Each example is made from one hypothesis choice, for speed (over 2,000 examples per
second): a seed for a per-draw Faker instance (never Faker's or ``random``'s global state) and
a byte per field, which says whether an optional field is present and salts its value. It
shrinks field by field: a shrunk example has only the fields its failure needs. Override a
field with a strategy of your own to shrink its values precisely (``capacity=st.floats(0, 1)``).
``st.from_type(Model)`` works for every model through the ``hypothesis`` entry point (nothing is
registered by importing this module).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import BaseModel

from pytest_mistersmith._rules import Level, Violation, ViolationKind, rules
from pytest_mistersmith.strategies._invalid import invalid_strategy
from pytest_mistersmith.strategies._models import check_overrides, instances
from pytest_mistersmith.strategies._payload import Payload
from pytest_mistersmith.strategies._subjects import subject_strategy
from simulator.protocol.models import MODELS

__all__ = [
    "Level",
    "Payload",
    "Violation",
    "ViolationKind",
    "invalid_payloads",
    "messages",
    "payloads",
    "subjects",
]

M = TypeVar("M", bound=BaseModel)


def messages(model: type[M], **overrides: st.SearchStrategy[object]) -> st.SearchStrategy[M]:
    """Valid instances of ``model`` (any model of ``simulator.protocol.models``, nested too).

    ``overrides`` are strategies for top-level fields, by field name or wire name
    (``continue`` or ``continue_``); a strategy drawing None leaves an optional field out.
    """
    return instances(model, check_overrides(model, overrides, "messages"))


def _dump(instance: BaseModel) -> bytes:
    return Payload(instance.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8"))


def payloads(
    model: type[BaseModel], **overrides: st.SearchStrategy[object]
) -> st.SearchStrategy[bytes]:
    """Wire payloads of valid ``model`` instances, as ``model_dump_json`` writes them for NATS.

    ``by_alias=True, exclude_none=True``: wire names, optional fields left out when absent.
    """
    return instances(model, check_overrides(model, overrides, "payloads"), _dump)


def subjects(template: object, **params: object) -> st.SearchStrategy[str]:
    """Valid subjects of a taxonomy template (its name or a ``Template``).

    ``params`` fix parameters, as values or strategies; the others get realistic tokens
    (task types and hook types from their enums, task ids as UUIDs).
    """
    return subject_strategy(template, params)


def invalid_payloads(
    model: type[BaseModel],
    *,
    kinds: Iterable[ViolationKind | str] | None = None,
    level: Level | None = None,
) -> st.SearchStrategy[tuple[bytes, Violation]]:
    """Payloads of a message model breaking exactly one rule each, with the rule they break.

    ``level`` keeps the model's rules apart from the transport's: ``"model"`` (the default)
    draws only payloads the model itself rejects, so "the model rejects every invalid payload"
    holds; ``"transport"`` only those the model accepts but NATS refuses (too large for the
    stream or the server); ``"all"`` both. ``kinds`` narrows the rules (``ViolationKind``
    members or their values, such as ``"enum"``); given alone, it may name any level. Each
    payload is a :class:`Payload`, whose ``repr`` shows a large one's size, head and tail.
    """
    if not (isinstance(model, type) and MODELS.get(model.__name__) is model):
        raise InvalidArgument(
            f"invalid_payloads() takes a message model, got {model!r}; "
            f"messages: {', '.join(MODELS)}"
        )
    if level not in (None, "model", "transport", "all"):
        raise InvalidArgument(
            f"invalid_payloads(level={level!r}): choose 'model', 'transport' or 'all'"
        )
    available = tuple(rules(model))
    if kinds is None:
        wanted = level or "model"
        return invalid_strategy(model, tuple(k for k in available if wanted in ("all", k.level)))
    chosen: list[ViolationKind] = []
    for kind in kinds:
        try:
            member = ViolationKind(kind)
        except ValueError:
            raise InvalidArgument(
                f"invalid_payloads(kinds=...): unknown kind {kind!r}; "
                f"kinds: {', '.join(k.value for k in ViolationKind)}"
            ) from None
        if member not in available:
            raise InvalidArgument(
                f"invalid_payloads({model.__name__}): no rule of kind {member.value!r} in "
                f"{model.__name__}; its kinds: {', '.join(k.value for k in available)}"
            )
        if level not in (None, "all", member.level):
            raise InvalidArgument(
                f"invalid_payloads(kinds=..., level={level!r}): kind {member.value!r} is "
                f"{member.level}-level; pass level={member.level!r} or 'all'"
            )
        chosen.append(member)
    if not chosen:
        raise InvalidArgument("invalid_payloads(kinds=...) needs at least one kind")
    return invalid_strategy(model, tuple(dict.fromkeys(chosen)))
