"""Run one case of a contract over NATS: send, collect the answers, judge, report.

A :class:`CaseRunner` subscribes once per check (the answer subjects' wildcards and an inbox
prefix), then runs the cases one after another. Every case gets new correlation ids (the
contract's ``fresh`` fields, its header, its inbox), so an answer that comes late to an earlier
case is recognised and ignored instead of being judged twice. An answer that belongs to nothing
sent (on an answer subject, but not this case's) may be other traffic on the bus: it is
reported, first, only when the case fails, where it is usually the wrong correlation.

A case ends once every answer with a bounded count has come (exactly one, exactly n), then one
round trip to the server (a flush: answers it routed to us before it are in) and the contract's
``grace`` (default none) for duplicates; open-ended ones (zero or more, at least one) listen
until the timeout. A request that the server answers "no responders" (status 503) ends at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_mistersmith.contracts._judge import (
    MISSING,
    STALE,
    Answer,
    Sent,
    attribute,
    judge,
    lookup,
    satisfied,
    show,
    stray,
)
from pytest_mistersmith.contracts._types import Contract, Reply
from simulator.bus import settle
from simulator.errors import SubjectError
from simulator.protocol import subjects

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

    from pytest_mistersmith.strategies import Violation

__all__ = ["CaseRunner"]


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))  # strictly UTF-8: json.loads would sniff UTF-16
    except ValueError:  # UnicodeDecodeError too
        return MISSING


def _dumps(body: Any) -> bytes | None:
    """Compact JSON, as pydantic writes it; None when it cannot be written back faithfully."""
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return None


def _touches(violation: Violation | None, name: str) -> bool:
    field = violation.field if violation is not None else None
    return field is not None and (field == name or field.startswith(name + "."))


def _build(name: str, params: Mapping[str, object]) -> str | None:
    tmpl = subjects.template(name)
    try:
        return tmpl.build(**{p: params[p] for p in tmpl.params})
    except (KeyError, SubjectError):
        return None


class CaseRunner:
    """Runs the cases of one check on ``client``; an async context manager (subscriptions)."""

    def __init__(self, contract: Contract, client: Client) -> None:
        self.contract = contract
        self.client = client
        self.answers: list[Answer] = []
        self.cases = 0
        self._past: set[str] = set()
        self._subs: list[Subscription] = []
        self._changed = asyncio.Event()
        self._inbox = ""
        self._nobody: set[str] = set()  # inboxes the server told "no responders" (status 503)
        self._wildcards: tuple[str, ...] = ()

    async def __aenter__(self) -> CaseRunner:
        templates = {t for e in self.contract.expect for t in e.subjects}
        if self.contract.rejection is not None:
            templates.update(self.contract.rejection.subjects)
        self._wildcards = tuple(sorted(subjects.template(t).wildcard for t in templates))
        patterns = [_covering(self._wildcards)] if self._wildcards else []
        if self.contract.reply is Reply.REQUEST:
            self._inbox = self.client.new_inbox()
            patterns.append(f"{self._inbox}.*")
        for pattern in patterns:
            self._subs.append(await self.client.subscribe(pattern, cb=self._on_message))
        await settle(self.client)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    async def _on_message(self, msg: Msg) -> None:
        if not msg.data and (msg.headers or {}).get("Status") == "503":
            self._nobody.add(msg.subject)  # the server's "no responders", not an answer
        elif msg.subject.startswith(self._inbox or "\0") or any(
            subjects.matches(w, msg.subject) for w in self._wildcards
        ):
            self.answers.append(Answer(msg.subject, msg.data, msg.headers))
        self._changed.set()

    # --- preparing what is sent ---------------------------------------------------------------

    def _prepare(
        self, data: bytes, violation: Violation | None = None, like: Any = None
    ) -> tuple[bytes, Any, str]:
        """The payload with new correlation ids, its parsed body, and the case's inbox; an
        invalid payload (``violation``) takes the narrowed values of ``like`` (the valid one)
        outside the field it breaks."""
        self.cases += 1
        inbox = f"{self._inbox}.{self.cases}" if self._inbox else ""
        body = _loads(data)
        if not isinstance(body, dict):
            return data, body, inbox
        changed = dict(body)
        for name in self.contract.fresh:
            if name in changed and not _touches(violation, name):
                changed[name] = str(uuid.uuid4())
        for name, allowed in self.contract.values.items():
            if (
                violation is not None
                and isinstance(like, dict)
                and name in changed
                and name in like
                and changed[name] not in allowed
                and not _touches(violation, name)
            ):
                changed[name] = like[name]
        reply_to = self.contract.reply_to
        if inbox and reply_to and reply_to in changed and not _touches(violation, reply_to):
            changed[reply_to] = inbox
        written = _dumps(changed)
        if written is None:
            return data, body, inbox
        return written, changed, inbox

    def _headers(self) -> dict[str, str] | None:
        return {self.contract.header: str(uuid.uuid4())} if self.contract.header else None

    def _valid(self, payload: bytes) -> Sent:
        contract = self.contract
        data, body, inbox = self._prepare(payload)
        params = contract.params(body)
        subject = _build(contract.subject, params)
        if subject is None:
            raise ValueError(
                f"contract {contract.name!r}: cannot build {contract.subject} from the payload "
                f"(params {dict(params)!r}); give the contract a params function"
            )
        awaited: dict[str, str] = {}
        for name in {t for e in contract.expect for t in e.subjects}:
            built = _build(name, self._correlated(name, body, {}))
            if built is None:
                raise ValueError(
                    f"contract {contract.name!r}: cannot build the answer subject {name} from "
                    f"the payload; give the contract a correlate mapping"
                )
            awaited[name] = built
        return Sent(subject, data, body, self._headers(), inbox, contract.expect, awaited)

    def _correlated(
        self,
        name: str,
        body: Any,
        fallback: Mapping[str, object],
        violation: Violation | None = None,
    ) -> dict[str, Any]:
        """Template ``name``'s parameters from the sent payload's fields (not from a field the
        ``violation`` breaks), else from ``fallback`` (the parameters of the subject sent on)."""
        out: dict[str, Any] = {}
        for param in subjects.template(name).params:
            path = self.contract.correlate.get(param, param)
            value = lookup(body, path)
            if (
                value is MISSING
                or _touches(violation, path)
                or _build_one(name, param, value) is None
            ):
                value = fallback.get(param, MISSING)
            if value is not MISSING:
                out[param] = value
        return out

    def _invalid(self, payload: bytes, violation: Violation, sibling: Sent) -> Sent:
        contract = self.contract
        data, body, inbox = self._prepare(payload, violation, sibling.body)
        send_params = dict(subjects.parse(sibling.subject).params)
        for param, value in (contract.params(body) if isinstance(body, dict) else {}).items():
            if _touches(violation, param):  # a broken value in a subject token: the sibling's
                continue
            if param in send_params and _build_one(contract.subject, param, value) is not None:
                send_params[param] = str(value)
        subject = _build(contract.subject, send_params) or sibling.subject
        send_params = dict(subjects.parse(subject).params)
        templates = {t for e in contract.expect for t in e.subjects}
        rejection = contract.rejection
        if rejection is not None:
            templates.update(rejection.subjects)
        awaited = {}
        for name in templates:
            built = _build(name, self._correlated(name, body, send_params, violation))
            if built is not None:
                awaited[name] = built
        where = f" at {violation.field}" if violation.field else ""
        label = f"invalid payload ({violation.kind.value}{where})"
        due = rejection is not None and (
            all(t in awaited for t in rejection.subjects) if rejection.subjects else bool(inbox)
        )
        return Sent(
            subject,
            data,
            body,
            self._headers(),
            inbox,
            (),
            awaited,
            label,
            lenient=not (due and rejection is not None and rejection.required),
            rejection=rejection if due else None,
            broken=violation.field,
        )

    # --- running a case -----------------------------------------------------------------------

    async def case(
        self, payload: bytes, invalid: tuple[bytes, Violation] | None = None
    ) -> str | None:
        """Run one case; None when every rule holds, else the failure report."""
        sibling = self._valid(payload)
        sends = [sibling]
        if invalid is not None:
            sends.insert(0, self._invalid(invalid[0], invalid[1], sibling))
        start = len(self.answers)
        for sent in sends:
            await self.client.publish(
                sent.subject, sent.data, reply=sent.inbox or "", headers=sent.headers
            )
        strays, waited = await self._collect(sends, start)
        for sent in sends:
            self._past.update(sent.keys())
        faults: list[str] = []
        for sent in sends:
            prefix = "" if sent is sibling else f"the {sent.label}: "
            if sent is sibling and invalid is not None:
                prefix = "after the invalid payload, the valid one: "
            broken = judge(self.contract, sent, waited, nobody=sent.inbox in self._nobody)
            if broken and sent.inbox in self._nobody:
                broken.append(f"no responders: nothing subscribes to {sent.subject}")
            faults += [prefix + f for f in broken]
        if not faults:
            return None  # answers to nothing sent may be other traffic: only a failure tells
        faults = [stray(self.contract, a, sibling) for a in strays] + faults
        return self._report(sends, strays, faults, waited)

    async def _collect(self, sends: list[Sent], start: int) -> tuple[list[Answer], float | None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.contract.timeout
        done_at: float | None = None
        strays: list[Answer] = []
        seen = start
        flushed = False
        while True:
            self._changed.clear()
            for answer in self.answers[seen:]:
                owner = attribute(self.contract, answer, sends, self._past)
                if owner is None:
                    strays.append(answer)
                elif owner is not STALE:
                    owner.answers.append(answer)
            seen = len(self.answers)
            now = loop.time()
            if done_at is None and all(satisfied(s) or s.inbox in self._nobody for s in sends):
                if not flushed:  # what the server routed to us before the round trip comes in
                    flushed = True
                    with contextlib.suppress(Exception):
                        await self.client.flush(timeout=max(1, math.ceil(self.contract.timeout)))
                    await asyncio.sleep(0)  # let the subscription's task deliver it
                    continue
                done_at = now + self.contract.grace
            limit = deadline if done_at is None else min(deadline, done_at)
            if now >= limit:
                return strays, (self.contract.timeout if done_at is None else None)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), limit - now)

    def _report(
        self, sends: list[Sent], strays: list[Answer], faults: list[str], waited: float | None
    ) -> str:
        lines = [f"contract {self.contract.name!r} broken: {faults[0]}"]
        for sent in sends:
            how = f" (reply to {sent.inbox})" if sent.inbox else ""
            heads = "".join(f" [{k}: {v}]" for k, v in (sent.headers or {}).items())
            lines += [f"  {sent.label} on {sent.subject}{how}{heads}:", f"    {show(sent.data)}"]
        fresh = [
            f
            for f in self.contract.fresh
            if isinstance(sends[-1].body, dict) and f in sends[-1].body
        ]
        if fresh:
            lines.append(f"  ({', '.join(fresh)}: a new UUID in every case, for correlation)")
        received = [a for s in sends for a in s.answers] + strays
        received.sort(key=self.answers.index)
        if received:
            lines.append("  received:")
            for a in received:
                heads = "".join(f" [{k}: {v}]" for k, v in (a.headers or {}).items())
                lines += [f"    on {a.subject}{heads}:", f"      {show(a.data)}"]
        else:
            lines.append(f"  received nothing within {self.contract.timeout:g} s")
        lines.append("  rules broken:")
        lines += [f"    - {f}" for f in faults]
        return "\n".join(lines)


def _covering(wildcards: tuple[str, ...]) -> str:
    """One pattern covering every wildcard, so that one subscription keeps their wire order.

    nats-py delivers each subscription in a task of its own: across subscriptions, the order
    in which answers arrive (a progress line after the final result) would be lost. Same token
    count: differing tokens become ``*``; else the common leading tokens and ``>``.
    """
    split = [w.split(".") for w in wildcards]
    if len({len(t) for t in split}) == 1:
        return ".".join(t[0] if len(set(t)) == 1 else "*" for t in zip(*split, strict=True))
    common = []
    for tokens in zip(*split, strict=False):
        if len(set(tokens)) > 1:
            break
        common.append(tokens[0])
    shortest = min(len(t) for t in split)
    return ".".join([*common[: shortest - 1], ">"])  # ">" needs a token: "a.>" misses "a"


def _build_one(name: str, param: str, value: object) -> str | None:
    """``value`` as the ``param`` token of template ``name``, or None when it is not valid."""
    if not isinstance(value, str) or param not in subjects.template(name).params:
        return None
    try:
        return subjects.Template(param, "{" + param + "}", "").build(**{param: value})
    except SubjectError:
        return None
