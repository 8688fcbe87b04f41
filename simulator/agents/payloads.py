"""Where the simulator's payload models used to live; kept so that old imports still work.

Every wire model now lives in :mod:`simulator.protocol.models`, and which model goes on which
subject is asked of :mod:`simulator.protocol.channels`. :data:`PAYLOADS` and :data:`REPLIES`
are derived from the catalogue.
"""

from __future__ import annotations

from pydantic import BaseModel

from simulator.protocol.channels import CHANNELS
from simulator.protocol.models import (
    AgentEvent,
    AgentLog,
    AgentMetric,
    AuditRecord,
    CommandReply,
    HealthReport,
    HealthStatus,
    Severity,
    SystemAlert,
    TaskCancel,
    WorkflowKind,
    WorkflowMessage,
    make,
)

__all__ = [
    "PAYLOADS",
    "REPLIES",
    "AgentEvent",
    "AgentLog",
    "AgentMetric",
    "AuditRecord",
    "CommandReply",
    "HealthReport",
    "HealthStatus",
    "Severity",
    "SystemAlert",
    "TaskCancel",
    "WorkflowKind",
    "WorkflowMessage",
    "make",
]

PAYLOADS: dict[str, type[BaseModel]] = {c.name: c.payload for c in CHANNELS}
"""The payload model of each channel (by channel name)."""

REPLIES: dict[str, type[BaseModel]] = {c.name: c.reply for c in CHANNELS if c.reply is not None}
"""The reply model of each request-reply channel (replies go to inboxes: no template)."""
