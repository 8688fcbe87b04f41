"""Judge one case: which answers belong to which sent message, and which rules they break.

Pure (no I/O), so that a verdict depends only on what was sent and what came back: hypothesis
shrinks a failure by replaying payloads, which needs the same verdict every time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from pytest_mistersmith.contracts._types import Contract, Count, Expect, Rejection
from simulator.errors import SubjectError
from simulator.protocol import subjects

__all__ = [
    "MISSING",
    "STALE",
    "Answer",
    "Sent",
    "attribute",
    "describe_errors",
    "judge",
    "lookup",
    "satisfied",
    "show",
    "stray",
]

_SHOWN = 2000
STALE = "stale"
"""An answer to a message sent in an earlier case of the same check: ignored."""
MISSING = object()


@dataclass(frozen=True)
class Answer:
    """One message that came back, in arrival order."""

    subject: str
    data: bytes
    headers: Mapping[str, str] | None


@dataclass
class Sent:
    """One message sent in a case, and what it awaits."""

    subject: str
    data: bytes
    body: Any
    headers: dict[str, str] | None
    inbox: str | None
    expects: tuple[Expect, ...]
    #: template name -> the subject an answer of that template must come on
    awaited: dict[str, str]
    label: str = "sent"
    #: answers to this message need not fit any Expect (an invalid payload, no report due)
    lenient: bool = False
    #: the report due (or allowed) for this invalid payload, and the field it breaks
    rejection: Rejection | None = None
    broken: str | None = None
    answers: list[Answer] = field(default_factory=list)

    def keys(self) -> set[str]:
        """What ties an answer to this message: header id, inbox, awaited subjects."""
        keys = set(self.awaited.values())
        if self.inbox:
            keys.add(self.inbox)
        if self.headers:
            keys.update(self.headers.values())
        return keys


def show(data: bytes) -> str:
    """A payload as text (as bytes when it is not UTF-8), cut at 2,000 characters."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = repr(data)  # not UTF-8: show the bytes
    return text[:_SHOWN] + (f" ... ({len(data)} bytes)" if len(text) > _SHOWN else "")


def lookup(doc: Any, path: str) -> Any:
    """The value at a dotted wire path of a JSON document, or a sentinel when absent."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def describe_errors(error: ValidationError) -> str:
    """Pydantic's field errors, one ``field: message [type]`` per error."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<payload>'} {e['msg']} [{e['type']}]"
        for e in error.errors()
    )


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))  # strictly UTF-8: json.loads would sniff UTF-16
    except ValueError:  # UnicodeDecodeError too
        return MISSING


def attribute(contract: Contract, answer: Answer, sends: Sequence[Sent], past: set[str]) -> Any:
    """The :class:`Sent` an answer belongs to, :data:`STALE`, or None (it answers nothing sent)."""
    if contract.header:
        key = (answer.headers or {}).get(contract.header)
        for sent in sends:
            if key is not None and sent.headers and sent.headers.get(contract.header) == key:
                return sent
        return STALE if key in past else None
    for sent in sends:
        if answer.subject == sent.inbox or answer.subject in sent.awaited.values():
            return sent
    return STALE if answer.subject in past else None


def _where(expect: Expect, sent: Sent) -> str:
    if not expect.subjects:
        return f"the reply inbox {sent.inbox}"
    return " or ".join(sent.awaited.get(t, t) for t in expect.subjects)


def _kind(contract: Contract, answer: Answer) -> tuple[Expect | None, str]:
    """The Expect an answer's subject fits (by template), and its model name for messages."""
    try:
        name = subjects.parse(answer.subject).name
    except SubjectError:
        name = ""
    for expect in contract.expect:
        if name in expect.subjects:
            return expect, expect.model.__name__
    for expect in contract.expect:
        if not expect.subjects:
            return expect, expect.model.__name__
    return None, "message"


def _check_fields(
    contract: Contract, expect: Expect, sent: Sent, answer: Answer, doc: Any
) -> list[str]:
    faults = []
    what = f"the {expect.model.__name__}"
    match = dict(expect.match)
    if contract.same_agent and contract.agent_field and "agent_id" in expect.model.model_fields:
        match.setdefault("agent_id", contract.agent_field)
    for answer_field, sent_field in match.items():
        got, want = lookup(doc, answer_field), lookup(sent.body, sent_field)
        if want is MISSING:
            continue
        if got != want:
            shown = "missing" if got is MISSING else repr(got)
            faults.append(
                f"{answer_field} of {what} on {answer.subject} ({shown}) does not match the "
                f"{contract.send.__name__}'s {sent_field} ({want!r})"
            )
    for rule in expect.rules:
        fault = rule(sent.body if isinstance(sent.body, dict) else {}, doc)
        if fault:
            faults.append(fault)
    return faults


def _judge_answer(
    contract: Contract, sent: Sent, answer: Answer
) -> tuple[Expect | None, list[str]]:
    fitting = [
        e
        for e in sent.expects
        if (not e.subjects and answer.subject == sent.inbox)
        or any(sent.awaited.get(t) == answer.subject for t in e.subjects)
    ]
    if not fitting:
        if sent.lenient:
            return None, []
        due = [f"{e.model.__name__} on {_where(e, sent)}" for e in sent.expects]
        if sent.rejection is not None:
            due.append(f"{sent.rejection.describe()} on {_rejection_where(sent.rejection, sent)}")
        wanted = "; ".join(due)
        what = contract.send.__name__ if sent.label == "sent" else sent.label
        return None, [
            f"an answer to the {what} came on {answer.subject}, where none is due "
            f"(due: {wanted or 'nothing'}): {show(answer.data)}"
        ]
    expect = fitting[0]
    try:
        expect.model.model_validate_json(answer.data)
    except ValidationError as error:
        return expect, [
            f"{expect.model.__name__} on {answer.subject} does not fit "
            f"{expect.model.__name__}: {describe_errors(error)}"
        ]
    return expect, _check_fields(contract, expect, sent, answer, _loads(answer.data))


def _count_fault(expect: Expect, sent: Sent, got: int, waited: float | None) -> str:
    what = f"{expect.count} {expect.model.__name__} on {_where(expect, sent)}"
    if got == 0:
        within = f" within {waited:g} s" if waited is not None else ""
        return f"expected {what}, got none{within}"
    return f"expected {what}, got {got}"


def _reports(sent: Sent, answer: Answer) -> bool:
    """Whether ``answer`` came where the rejection report of ``sent`` is due."""
    rejection = sent.rejection
    if rejection is None:
        return False
    if not rejection.subjects:
        return answer.subject == sent.inbox
    return any(sent.awaited.get(t) == answer.subject for t in rejection.subjects)


def _rejection_where(rejection: Rejection, sent: Sent) -> str:
    if not rejection.subjects:
        return f"the reply inbox {sent.inbox}"
    return " or ".join(sent.awaited.get(t, t) for t in rejection.subjects)


def _judge_report(rejection: Rejection, field: str | None, answer: Answer) -> list[str]:
    """The rules a report of a rejected payload breaks: its model (or the service error
    headers), the values it must have, and that it names the broken field."""
    if rejection.model is None:
        headers = answer.headers or {}
        fields: Mapping[str, Any] = headers
        if not any(n in headers for n in rejection.names_field_in):
            return [
                f"the reply to the invalid request on {answer.subject} is no service error: no "
                f"{' or '.join(rejection.names_field_in)} header (a malformed request is "
                f"answered at once with one naming the field, spec-notes 23): {show(answer.data)}"
            ]
        what = "error reply"
    else:
        try:
            rejection.model.model_validate_json(answer.data)
        except ValidationError as error:
            name = rejection.model.__name__
            return [f"the report {name} on {answer.subject} does not fit {name}: "
                    f"{describe_errors(error)}"]  # fmt: skip
        fields = _loads(answer.data) if isinstance(_loads(answer.data), dict) else {}
        what = "report"
    faults = [
        f"the {what}'s {k} is {_shown(lookup(fields, k))}, not {v!r}"
        for k, v in rejection.values.items()
        if lookup(fields, k) != v
    ]
    if field is not None:
        texts = [lookup(fields, n) for n in rejection.names_field_in]
        if not any(isinstance(t, str) and field in t for t in texts):
            got = ", ".join(repr(t) if isinstance(t, str) else "nothing" for t in texts)
            where = " or ".join(rejection.names_field_in)
            faults.append(f"the {what} does not name the field {field!r} in {where} (got {got})")
    return faults


def _shown(value: Any) -> str:
    return "missing" if value is MISSING else repr(value)


def judge(
    contract: Contract, sent: Sent, waited: float | None, *, nobody: bool = False
) -> list[str]:
    """The rules the answers to ``sent`` break (``waited``: the timeout, when it ran out;
    ``nobody``: the server said no one subscribes, so no rejection report is due)."""
    faults: list[str] = []
    counts: dict[int, int] = {}
    reports = 0
    final: Expect | None = None
    rejection = sent.rejection
    for answer in sent.answers:
        if rejection is not None and _reports(sent, answer):
            reports += 1
            faults += _judge_report(rejection, sent.broken, answer)
            continue
        expect, problems = _judge_answer(contract, sent, answer)
        if final is not None and expect is not final:  # a second final answer is a count fault
            faults.append(
                f"{answer.subject} came after the final {final.model.__name__}, which ends the flow"
            )
        faults += problems
        if expect is not None:
            counts[id(expect)] = counts.get(id(expect), 0) + 1
            if expect.terminal and final is None:
                final = expect
    for expect in sent.expects:
        got = counts.get(id(expect), 0)
        if not expect.count.admits(got):
            faults.append(_count_fault(expect, sent, got, waited))
    due = rejection is not None and (reports or (rejection.required and not nobody))
    if rejection is not None and due and not rejection.count.admits(reports):
        where = _rejection_where(rejection, sent)
        what = f"{rejection.count} {rejection.describe()} on {where}"
        if reports == 0:
            within = f" within {waited:g} s" if waited is not None else ""
            faults.append(f"expected {what}, got none{within} (silence)")
        else:
            faults.append(f"expected {what}, got {reports}")
    return faults


def satisfied(sent: Sent) -> bool:
    """Whether every answer ``sent`` awaits with a bounded count has come (a rejection
    report that is not required is not awaited)."""
    rejection = sent.rejection
    if rejection is not None and rejection.required:
        if rejection.count.max is None:
            return False
        return sum(_reports(sent, a) for a in sent.answers) >= rejection.count.max
    bounded = [e for e in sent.expects if e.count.max is not None]
    if not sent.expects:
        return True
    if not bounded:
        return False
    return all(_arrived(sent, e) >= _bound(e.count) for e in bounded)


def _bound(count: Count) -> int:
    assert count.max is not None
    return count.max


def _arrived(sent: Sent, expect: Expect) -> int:
    if not expect.subjects:
        return sum(a.subject == sent.inbox for a in sent.answers)
    subjects = {sent.awaited.get(t) for t in expect.subjects}
    return sum(a.subject in subjects for a in sent.answers)


def stray(contract: Contract, answer: Answer, sent: Sent) -> str:
    """The fault of an answer that belongs to nothing sent, told against ``sent``."""
    expect, name = _kind(contract, answer)
    if contract.header:
        key = (answer.headers or {}).get(contract.header)
        want = (sent.headers or {}).get(contract.header)
        if key is None:
            return (
                f"the {name} on {answer.subject} carries no {contract.header} header "
                f"(the {contract.send.__name__} sent had {want!r})"
            )
        return (
            f"the {name} on {answer.subject} has {contract.header} {key!r}, which names no "
            f"{contract.send.__name__} sent (this one's is {want!r})"
        )
    text = f"the {name} on {answer.subject} answers no {contract.send.__name__} sent"
    doc = _loads(answer.data)
    if expect is not None and isinstance(doc, dict):
        mismatches = [
            f"its {a} {lookup(doc, a)!r} does not match the {contract.send.__name__}'s "
            f"{s} {lookup(sent.body, s)!r}"
            for a, s in expect.match.items()
            if lookup(doc, a) is not MISSING and lookup(doc, a) != lookup(sent.body, s)
        ]
        if mismatches:
            return f"{text}: {'; '.join(mismatches)}"
    due = sorted({s for s in sent.awaited.values()} | ({sent.inbox} if sent.inbox else set()))
    return f"{text} (its answers are due on {', '.join(due)})"
