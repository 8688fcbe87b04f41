"""Claude Code's hook contract and the spec's hook flow, mapped both ways (pure, no I/O).

Claude Code gives a hook one JSON object (``session_id``, ``transcript_path``, ``cwd``,
``permission_mode``, ``hook_event_name`` and per-event fields) and reads back an exit code and a
JSON object on stdout (``continue``, ``stopReason``, ``decision``/``reason``, and for
``PreToolUse`` ``hookSpecificOutput.permissionDecision``). spec-notes 27 gives the whole
mapping; in short:

* ``SessionStart`` -> ``startup``, ``PreToolUse`` -> ``pre_task``, ``PostToolUse`` ->
  ``post_task``, ``PostToolUseFailure`` -> ``on_error``: a :class:`HookEvent` that waits for a
  :class:`HookResponse`;
* ``FileChanged`` -> ``on_file_change``, announced without an answer (spec-notes 17);
* every other event Claude Code documents (``Stop``, ``UserPromptSubmit``, ...) is published as a
  :class:`ClaudeContext` on ``cli.context.{session}.{context_type}`` and gets Claude Code's
  neutral answer (``{}``);
* a name Claude Code does not document is a failure (:func:`failure_answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from simulator.protocol.models import (
    ClaudeContext,
    ClaudeContextType,
    HookDecision,
    HookEvent,
    HookResponse,
    HookType,
)
from simulator.protocol.models.types import AGENT_ID_MAX_LENGTH

__all__ = [
    "ANNOUNCED",
    "ASKED",
    "CONTEXT",
    "NEUTRAL",
    "Answer",
    "BridgeError",
    "ClaudeInput",
    "OnFailure",
    "agent_id_for",
    "claude_answer",
    "context_record",
    "failure_answer",
    "hook_event",
    "parse_input",
]

OnFailure = Literal["deny", "allow"]

#: Claude Code events answered by the hook service: the spec's hook type of each.
ASKED: dict[str, HookType] = {
    "SessionStart": HookType.STARTUP,
    "PreToolUse": HookType.PRE_TASK,
    "PostToolUse": HookType.POST_TASK,
    "PostToolUseFailure": HookType.ON_ERROR,
}
#: Claude Code events announced without an answer.
ANNOUNCED: dict[str, HookType] = {"FileChanged": HookType.ON_FILE_CHANGE}
#: Claude Code events the spec has no hook type for, each with its ``{context_type}`` token:
#: published on ``cli.context.{session}.{context_type}`` as a :class:`ClaudeContext`, answered
#: with Claude Code's neutral ``{}`` (the catalogue's enum is the one list; spec-notes 27).
CONTEXT: dict[str, ClaudeContextType] = {
    "".join(word.capitalize() for word in t.value.split("_")): t for t in ClaudeContextType
}
#: The same events' names (the neutral answer: nothing awaited).
NEUTRAL = frozenset(CONTEXT)
#: The fields every event carries; the rest are the event's own.
_COMMON = ("session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name")
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_-]")
_TOKEN_OK = re.compile(rf"\A[A-Za-z0-9_-]{{1,{AGENT_ID_MAX_LENGTH}}}\Z")


class BridgeError(Exception):
    """A hook the bridge cannot carry: bad input, no server, no or a malformed answer."""

    def __init__(self, message: str, event_name: str = "") -> None:
        super().__init__(message)
        #: The Claude Code event it was, when known (the failure answer's form depends on it).
        self.event_name = event_name


class ClaudeInput(BaseModel):
    """The JSON object Claude Code gives a hook (extra, event-specific fields are kept)."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    hook_event_name: str
    session_id: str
    transcript_path: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, JsonValue] | None = None
    tool_use_id: str | None = None
    tool_response: JsonValue = None
    error: str | None = None
    model: str | None = None

    def specific(self) -> dict[str, JsonValue]:
        """The event's own fields (all but the five every event carries)."""
        dumped = self.model_dump(mode="json", exclude_none=True)
        return {k: v for k, v in dumped.items() if k not in _COMMON}


@dataclass(frozen=True)
class Answer:
    """What the hook gives Claude Code back: exit code, stdout JSON, one stderr line."""

    exit_code: int = 0
    output: dict[str, JsonValue] = field(default_factory=dict)
    message: str = ""
    #: The event it answers (``""`` if the input was unreadable), for the http form.
    event_name: str = ""

    def stdout(self) -> str:
        """The stdout text (empty on exit 2, where Claude Code reads stderr only)."""
        import json

        return "" if self.exit_code == 2 else json.dumps(self.output, separators=(",", ":"))

    def http_body(self) -> dict[str, JsonValue]:
        """The same answer for an ``http`` hook, which has no exit code: a 2xx JSON body.

        Claude Code takes a non-2xx status as a non-blocking error (the call goes through), so a
        blocking answer must be a JSON decision: ``deny`` for ``PreToolUse``, ``decision:
        block`` for the other events that have one, ``continue: false`` where none has.
        """
        if self.exit_code != 2:
            return dict(self.output)
        if self.event_name == "PreToolUse":
            return _pre_tool(HookDecision.BLOCK, self.message)
        if self.event_name in ("PostToolUse", "PostToolUseFailure", "UserPromptSubmit"):
            return {"decision": "block", "reason": self.message}
        return {"continue": False, "stopReason": self.message}


def parse_input(raw: bytes) -> ClaudeInput:
    """Claude Code's stdin document, or :class:`BridgeError` naming what is wrong."""
    import json

    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BridgeError(f"stdin is not JSON ({error})") from None
    if not isinstance(document, dict):
        raise BridgeError(f"stdin is a JSON {type(document).__name__}, not an object")
    name = document.get("hook_event_name")
    if not isinstance(name, str):
        raise BridgeError("stdin has no hook_event_name string")
    if name not in ASKED and name not in ANNOUNCED and name not in NEUTRAL:
        raise BridgeError(f"unknown hook_event_name {name!r}")
    try:
        return ClaudeInput.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "stdin"
        raise BridgeError(f"{name} input: {where}: {first['msg']}", name) from None


def agent_id_for(given: str | None, session_id: str) -> str:
    """The agent id: ``given`` (``--agent-id``) as it is, else the session id made a token."""
    if given is not None:
        if _TOKEN_OK.match(given) is None:
            raise BridgeError(
                f"--agent-id {given!r} is not a subject token "
                f"(letters, digits, '_' and '-', 1 to {AGENT_ID_MAX_LENGTH} characters)"
            )
        return given
    agent = _TOKEN_BAD.sub("_", session_id)[:AGENT_ID_MAX_LENGTH]
    if not agent:
        raise BridgeError("session_id is empty: pass --agent-id")
    return agent


def hook_event(claude: ClaudeInput, agent_id: str, at: datetime) -> HookEvent:
    """The spec's :class:`HookEvent` for an asked or announced Claude Code event."""
    name = claude.hook_event_name
    hook_type = ASKED.get(name) or ANNOUNCED[name]
    tool_input = claude.tool_input
    tool_response: dict[str, JsonValue] | None = None
    if hook_type is HookType.POST_TASK and claude.tool_response is not None:
        response = claude.tool_response
        tool_response = response if isinstance(response, dict) else {"output": response}
    elif hook_type is HookType.ON_ERROR:
        tool_response = {
            k: v for k, v in claude.specific().items() if k in ("error", "is_interrupt")
        }
    elif hook_type is HookType.ON_FILE_CHANGE:
        tool_input = claude.specific()
    elif hook_type is HookType.STARTUP:
        tool_input = claude.specific() or None
    session = {
        "agent_id": agent_id,
        "session_id": claude.session_id or agent_id,
        "model": claude.model or "unknown",
        "start_time": at,
    }
    try:
        fields = {
            "hook_type": hook_type,
            "agent_id": agent_id,
            "tool_name": claude.tool_name or None,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "session_info": session,
            "timestamp": at,
            "context_id": claude.tool_use_id or None,
        }
        return HookEvent.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BridgeError(f"{name} does not make a HookEvent: {where}: {first['msg']}") from None


def context_record(
    claude: ClaudeInput, agent_id: str, at: datetime, context_id: str
) -> ClaudeContext:
    """The :class:`ClaudeContext` of an event the spec has no hook type for: the session (made
    a token) as the group, the event's own fields as ``data`` (spec-notes 27)."""
    name = claude.hook_event_name
    fields = {
        "context_id": context_id,
        "group_id": agent_id_for(None, claude.session_id),
        "context_type": CONTEXT[name],
        "session_id": claude.session_id,
        "agent_id": agent_id,
        "transcript_path": claude.transcript_path,
        "cwd": claude.cwd,
        "permission_mode": claude.permission_mode,
        "data": claude.specific() or None,
        "timestamp": at,
    }
    try:
        return ClaudeContext.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        why = f"{where}: {first['msg']}"
        raise BridgeError(f"{name} does not make a ClaudeContext: {why}") from None


def _pre_tool(
    decision: HookDecision, reason: str | None, updated: dict[str, JsonValue] | None = None
) -> dict[str, JsonValue]:
    specific: dict[str, JsonValue] = {"hookEventName": "PreToolUse"}
    specific["permissionDecision"] = "deny" if decision is HookDecision.BLOCK else "allow"
    if reason:
        specific["permissionDecisionReason"] = reason
    if updated is not None:
        specific["updatedInput"] = updated
    return {"hookSpecificOutput": specific}


def claude_answer(claude: ClaudeInput, response: HookResponse) -> Answer:
    """Claude Code's answer to ``claude`` for the hook service's ``response`` (spec-notes 27)."""
    name = claude.hook_event_name
    output: dict[str, JsonValue] = {}
    if response.stops_agent:
        output = {"continue": False, "stopReason": response.stop_reason or response.reason or ""}
    elif name == "PreToolUse":
        if response.decision is HookDecision.CONTINUE and not response.modifications:
            output = {}  # no opinion: Claude Code's own permission rules decide
        else:
            updated = None
            if response.modifications and not response.blocks_task:
                updated = {**(claude.tool_input or {}), **response.modifications}
            output = _pre_tool(response.decision, response.reason, updated)
    elif response.blocks_task:
        if name == "SessionStart":  # Claude Code cannot block a start: stop the session
            output = {"continue": False, "stopReason": response.reason or "blocked at startup"}
        else:
            output = {"decision": "block", "reason": response.reason or "blocked by hook"}
    return Answer(0, output, event_name=name)


def failure_answer(event_name: str, cause: str, on_failure: OnFailure) -> Answer:
    """The answer when the bridge itself fails (spec-notes 27): exit 2 with the cause unless
    ``on_failure`` is ``allow`` (exit 0, Claude Code's neutral answer, the cause on stderr)."""
    line = " ".join(cause.split())
    if on_failure == "allow":
        return Answer(0, {}, f"mistersmith hook: {line}; allowed (--on-failure allow)", event_name)
    return Answer(2, {}, f"mistersmith hook: {line}; denied (--on-failure deny)", event_name)
