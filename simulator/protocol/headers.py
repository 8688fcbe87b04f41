"""NATS message headers the protocol uses beyond the spec's payloads."""

from __future__ import annotations

__all__ = ["HANDED_BACK", "HOOK_EVENT_ID", "SERVICE_ERROR", "SERVICE_ERROR_CODE"]

#: ERRATA 10: a hook event is published on ``cli.hooks.{hook_type}.{agent_id}`` and answered
#: on ``cli.responses.{agent_id}``; the answer repeats this header of the event it answers.
#: Not ``Nats-Msg-Id``: JetStream would de-duplicate on it, and both sit in one stream.
HOOK_EVENT_ID = "Mistersmith-Event-Id"

#: spec-notes 23: a malformed request is answered at once with an empty body and these two
#: headers (the NATS services convention): what is wrong, naming the field, and the code (400).
SERVICE_ERROR = "Nats-Service-Error"
SERVICE_ERROR_CODE = "Nats-Service-Error-Code"

#: A queue-group task that no agent of the process it reached can take (a worker's share of a
#: swarm: all its agents stopped) is published again on its subject for another member of the
#: group, this header counting the hand-backs (at most ``len`` of a few; then it is an error).
HANDED_BACK = "Mistersmith-Handed-Back"
