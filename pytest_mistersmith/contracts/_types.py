"""What a contract declares: the message sent, the answers that must follow, how they correlate.

Private: the public names are re-exported by :mod:`pytest_mistersmith.contracts`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from simulator.protocol.headers import HOOK_EVENT_ID, SERVICE_ERROR, SERVICE_ERROR_CODE

__all__ = [
    "ANY",
    "EVENT_ID_HEADER",
    "ONE",
    "SOME",
    "Contract",
    "Count",
    "Expect",
    "Rejection",
    "Reply",
    "Rule",
]

EVENT_ID_HEADER = HOOK_EVENT_ID
"""The header that names a hook event (ERRATA 10): set on the event published on
``cli.hooks.{hook_type}.{agent_id}``, and repeated, same value, on its answer on
``cli.responses.{agent_id}``. Not ``Nats-Msg-Id``: JetStream deduplicates on that one, and
the event and its answer are two messages stored in the same stream."""

Json = Mapping[str, Any]
#: A flow-specific check of one answer: (sent payload, answer payload) -> a fault, or None.
Rule = Callable[[Json, Json], "str | None"]


class Reply(str, enum.Enum):
    """How the answers come back."""

    #: Published on subjects of the taxonomy (stored subjects: never core request-reply).
    PUBLISHED = "published"
    #: Core request-reply on an unstored subject: answers go to the request's reply inbox.
    REQUEST = "request"


@dataclass(frozen=True)
class Count:
    """How many answers of one kind must follow: at least ``min``, at most ``max`` (None: any)."""

    min: int
    max: int | None

    def __post_init__(self) -> None:
        if self.min < 0 or (self.max is not None and self.max < max(self.min, 1)):
            raise ValueError(f"Count({self.min}, {self.max}): need 0 <= min <= max, max >= 1")

    @classmethod
    def exactly(cls, n: int) -> Count:
        """Exactly ``n`` answers."""
        return cls(n, n)

    def admits(self, n: int) -> bool:
        """Whether ``n`` answers are allowed."""
        return n >= self.min and (self.max is None or n <= self.max)

    def __str__(self) -> str:
        words = {0: "zero", 1: "one"}
        low = words.get(self.min, str(self.min))
        if self.max is None:
            return f"{low} or more" if self.min == 0 else f"at least {low}"
        if self.max == self.min:
            return f"exactly {low}"
        return f"between {self.min} and {self.max}"


ONE = Count(1, 1)
"""Exactly one answer."""
ANY = Count(0, None)
"""Zero or more answers."""
SOME = Count(1, None)
"""At least one answer."""


@dataclass(frozen=True)
class Expect:
    """One kind of answer that must follow the sent message.

    ``subjects`` are template names of :mod:`simulator.protocol.subjects`, their parameters
    filled from the sent payload (see :attr:`Contract.correlate`); empty means the reply inbox
    of a :attr:`Reply.REQUEST` contract. ``match`` maps an answer field to the sent field it
    must equal (dotted wire paths). ``terminal``: the final word, nothing of the case may follow.
    """

    model: type[BaseModel]
    subjects: tuple[str, ...] = ()
    count: Count = ONE
    match: Mapping[str, str] = field(default_factory=dict)
    terminal: bool = False
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """How the system under test reports a payload it rejects.

    The report is a ``model`` on one of ``subjects``; their parameters come from the rejected
    payload where it holds a valid value, else from the subject it was sent on; when neither
    has them, no report is expected. One of the ``names_field_in`` answer fields must contain
    the broken field's wire path (``requirements.resources.cpu_cores``); ``values`` are answer
    fields that must have these values (``{"status": "failed"}``).

    ``model=None`` is a NATS service error reply (spec-notes 23) on the request's reply inbox
    (``subjects=()``): any body, ``names_field_in`` and ``values`` are then header names
    (:meth:`service_error`). ``required``: a report must come (``count`` of them; silence
    fails); when false, none need come and the case does not wait for one, but one that comes
    while the case runs (before the valid payload sent after it is answered) is judged by the
    same rules.
    """

    model: type[BaseModel] | None
    subjects: tuple[str, ...]
    names_field_in: tuple[str, ...]
    values: Mapping[str, object] = field(default_factory=dict)
    required: bool = True
    count: Count = ONE

    def __post_init__(self) -> None:
        if self.model is None and self.subjects:
            raise ValueError("a service error Rejection (model=None) answers on the reply inbox")
        if self.model is not None and not self.subjects:
            raise ValueError(f"Rejection({self.model.__name__}) needs the subjects it comes on")

    @classmethod
    def service_error(cls, count: Count = ONE, *, required: bool = True) -> Rejection:
        """A malformed request answered on its reply inbox with headers ``Nats-Service-Error``
        (naming the broken field) and ``Nats-Service-Error-Code: 400`` (spec-notes 23)."""
        return cls(None, (), (SERVICE_ERROR,), {SERVICE_ERROR_CODE: "400"}, required, count)

    def describe(self) -> str:
        """What the report is, for messages: ``a TaskResult`` or ``a service error reply``."""
        if self.model is None:
            return f"error reply ({SERVICE_ERROR} naming the field, {SERVICE_ERROR_CODE} 400)"
        return self.model.__name__


def _same_names(payload: Json) -> Mapping[str, object]:
    return payload


@dataclass(frozen=True)
class Contract:
    """A flow: the message sent on a subject, and the answers that must follow it.

    * ``send`` and ``subject``: the model sent and its subject template; ``params`` derives the
      template's parameters from the payload (default: the payload fields of the same names).
    * ``fresh``: payload fields replaced by a new UUID in every case (correlation ids), so that
      a late answer to an earlier case is never taken for an answer to this one.
    * ``reply``: answers published on subjects, or core request-reply (unstored subjects only,
      ERRATA 10); ``reply_to`` names the payload field holding the reply address, which is set
      to the case's inbox when the payload has it.
    * ``header``: a header set to a new id in every case, which each answer must repeat.
    * ``correlate``: answer-template parameter -> sent payload field (default: same name).
    * ``timeout``: how long to wait for the answers; ``grace``: how long to keep listening
      after the last expected answer and a round trip to the server, for duplicates and
      stragglers (default none: the round trip catches a duplicate sent with the answer).
    * ``payloads``: the payloads sent (default: every valid one of ``send``); ``values``
      narrows fields to the values the channel takes (``{"hook_type": ("startup",)}``); narrow
      further with :meth:`narrowed`. Invalid payloads keep these values too (but in the field
      they break), so that they reach the same consumers as the valid ones.
    * ``agent_field``: the sent field naming the agent the message is for (``assigned_agent``,
      ``agent_id``); with ``same_agent``, every answer's ``agent_id`` must equal it
      (:meth:`with_options`).
    """

    name: str
    send: type[BaseModel]
    subject: str
    expect: tuple[Expect, ...]
    reply: Reply = Reply.PUBLISHED
    params: Callable[[Json], Mapping[str, object]] = _same_names
    fresh: tuple[str, ...] = ()
    reply_to: str | None = None
    header: str | None = None
    correlate: Mapping[str, str] = field(default_factory=dict)
    rejection: Rejection | None = None
    timeout: float = 2.0
    grace: float = 0.0
    payloads: st.SearchStrategy[bytes] | None = None
    #: Payload field -> the only values sent (a channel's narrowing: hook types, task events).
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    agent_field: str | None = None
    same_agent: bool = False

    def __post_init__(self) -> None:
        if not self.expect:
            raise ValueError(f"contract {self.name!r}: expect needs at least one Expect")
        inbox = [e for e in self.expect if not e.subjects]
        if inbox and self.reply is not Reply.REQUEST:
            raise ValueError(
                f"contract {self.name!r}: an Expect without subjects answers on the reply inbox, "
                "which needs reply=Reply.REQUEST"
            )
        if self.timeout <= 0 or self.grace < 0:
            raise ValueError(f"contract {self.name!r}: timeout must be > 0 and grace >= 0")
        if self.same_agent and self.agent_field is None:
            raise ValueError(f"contract {self.name!r}: same_agent needs an agent_field")

    def with_options(
        self,
        *,
        same_agent: bool | None = None,
        reports_rejections: bool | None = None,
        timeout: float | None = None,
    ) -> Contract:
        """This contract with its optional rules switched on or off (None: unchanged).

        ``same_agent``: every answer's ``agent_id`` (TaskOutput, TaskResult, CommandReply) must
        be the agent the sent message names (its ``agent_field``). ``reports_rejections``: an
        invalid payload must be reported (its :class:`Rejection`; silence fails) or may be.
        ``timeout``: how long a case waits for its answers.
        """
        changed = self
        if same_agent is not None:
            if self.agent_field is None:
                raise ValueError(
                    f"contract {self.name!r}: same_agent: its {self.send.__name__} names no agent"
                )
            changed = replace(changed, same_agent=same_agent)
        if reports_rejections is not None:
            if self.rejection is None:
                raise ValueError(f"contract {self.name!r}: reports_rejections: it has no Rejection")
            rejection = replace(self.rejection, required=reports_rejections)
            changed = replace(changed, rejection=rejection)
        if timeout is not None:
            changed = replace(changed, timeout=timeout)
        return changed

    def narrowed(self, **values: str | Iterable[str]) -> Contract:
        """This contract sending only these values in these payload fields (wire names), valid
        and invalid payloads alike: ``ASSIGNMENT_TO_RESULT.narrowed(task_type=["analysis"],
        assigned_agent=["agent-1"])``; one string is one value. Where the channel already
        narrows a field (hook types, task events), the new values must be among its values.
        Fields that fill the subject narrow the subjects sent on (``agent_id`` of commands,
        ``hook_type`` of hooks).
        """
        merged = dict(self.values)
        fields = set(self.send.model_fields) | {
            f.validation_alias
            for f in self.send.model_fields.values()
            if isinstance(f.validation_alias, str)
        }
        for name, given in values.items():
            chosen = (given,) if isinstance(given, str) else tuple(dict.fromkeys(given))
            if name not in fields:
                raise ValueError(
                    f"contract {self.name!r}: narrowed({name}=...): {self.send.__name__} has no "
                    f"field {name!r} (fields: {', '.join(sorted(fields))})"
                )
            if not chosen or not all(isinstance(v, str) for v in chosen):
                raise ValueError(
                    f"contract {self.name!r}: narrowed({name}=...) needs one or more strings"
                )
            allowed = self.values.get(name)
            outside = [v for v in chosen if allowed is not None and v not in allowed]
            if outside:
                raise ValueError(
                    f"contract {self.name!r}: narrowed({name}=...): {outside} not among the "
                    f"values its channel takes ({', '.join(allowed or ())})"
                )
            merged[name] = chosen
        return replace(self, values=merged)

    def strategy(self) -> st.SearchStrategy[bytes]:
        """The payloads this contract sends: ``payloads`` if given, else every valid one
        (with ``values``: only those values of those fields)."""
        if self.payloads is not None:
            return self.payloads
        from pytest_mistersmith.strategies import payloads

        return payloads(self.send, **{k: st.sampled_from(v) for k, v in self.values.items()})
