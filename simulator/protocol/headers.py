"""NATS message headers the protocol uses beyond the spec's payloads."""

from __future__ import annotations

__all__ = ["HOOK_EVENT_ID"]

#: ERRATA 10: a hook event is published on ``cli.hooks.{hook_type}.{agent_id}`` and answered
#: on ``cli.responses.{agent_id}``; the answer repeats this header of the event it answers.
#: Not ``Nats-Msg-Id``: JetStream would de-duplicate on it, and both sit in one stream.
HOOK_EVENT_ID = "Mistersmith-Event-Id"
