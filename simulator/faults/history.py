"""The history of a run's JetStream publishes, Jepsen-style: each publish's invocation and its
completion, ``ok`` (acknowledged: stream, sequence, duplicate flag), ``fail`` (definitely not
acknowledged) or ``info`` (indeterminate: an attempt timed out, so it may have been stored).

:class:`simulator.bus.Bus` records into a :class:`History` when one is set on it
(``bus.history``): it then retries a publish that fails, with the same ``Nats-Msg-Id`` (so the
stream de-duplicates), for up to :attr:`History.retry_for` seconds. The checker
(:mod:`simulator.faults.checker`) reads the history against what the streams hold at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["History", "Outcome", "PublishOp"]

Outcome = Literal["pending", "ok", "fail", "info"]


@dataclass
class PublishOp:
    """One JetStream publish: what was sent, when, and how it ended."""

    subject: str
    msg_id: str | None
    #: ``time.monotonic()`` of the invocation and of the completion (None while pending).
    invoked: float
    completed: float | None = None
    outcome: Outcome = "pending"
    stream: str | None = None
    seq: int | None = None
    duplicate: bool = False
    attempts: int = 0
    #: Attempts that timed out (any makes a failed publish indeterminate, ``info``).
    timeouts: int = 0
    error: str = ""

    @property
    def acked(self) -> bool:
        """Whether a PubAck came back."""
        return self.outcome == "ok"


@dataclass
class History:
    """Every JetStream publish of a run, in invocation order."""

    #: Seconds a publish is retried (same ``Nats-Msg-Id``) before it fails for good.
    retry_for: float = 30.0
    #: Seconds one attempt waits for its PubAck.
    attempt_timeout: float = 2.0
    clock: Callable[[], float] = time.monotonic
    ops: list[PublishOp] = field(default_factory=list)

    def invoke(self, subject: str, msg_id: str | None) -> PublishOp:
        """Record the start of a publish; the bus completes it with one of the calls below."""
        op = PublishOp(subject, msg_id, self.clock())
        self.ops.append(op)
        return op

    def attempt_failed(self, op: PublishOp, error: BaseException, *, timeout: bool) -> None:
        """One attempt of ``op`` failed (it will be retried or given up)."""
        op.attempts += 1
        op.timeouts += int(timeout)
        op.error = f"{type(error).__name__}: {' '.join(str(error).split())}".rstrip(": ")

    def acked(self, op: PublishOp, stream: str, seq: int, duplicate: bool) -> None:
        """``op`` was acknowledged: stored in ``stream`` at ``seq``."""
        op.attempts += 1
        op.completed = self.clock()
        op.outcome, op.stream, op.seq, op.duplicate = "ok", stream, seq, duplicate

    def gave_up(self, op: PublishOp) -> None:
        """``op`` failed for good: ``info`` if an attempt timed out, else ``fail``."""
        op.completed = self.clock()
        op.outcome = "info" if op.timeouts else "fail"

    def deadline(self, op: PublishOp) -> float:
        """When retrying ``op`` stops."""
        return op.invoked + self.retry_for
