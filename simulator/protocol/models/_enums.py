"""Closed vocabularies of the messages (spec 2.1.1 and 12.2), kept as written (ERRATA 15)."""

from __future__ import annotations

from enum import Enum

__all__ = [
    "AgentState",
    "ClaudeContextType",
    "CommandType",
    "HookDecision",
    "HookType",
    "OutputStatus",
    "TaskInfoType",
    "TaskStatus",
    "TaskType",
]


class _WireEnum(str, Enum):
    """A string enum whose ``str()`` and f-string form is its wire value (on every Python)."""

    def __str__(self) -> str:
        """Return the wire value."""
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        """Format the wire value."""
        return format(str(self.value), format_spec)


class HookType(_WireEnum):
    """2.1.1 ``hook_type``, also the ``{hook_type}`` token of the ``cli.hooks`` subjects."""

    STARTUP = "startup"
    PRE_TASK = "pre_task"
    POST_TASK = "post_task"
    ON_ERROR = "on_error"
    ON_FILE_CHANGE = "on_file_change"


class HookDecision(_WireEnum):
    """2.1.1 hook response ``decision`` (ERRATA 16: ``continue: false`` overrides it)."""

    APPROVE = "approve"
    BLOCK = "block"
    CONTINUE = "continue"


class TaskInfoType(_WireEnum):
    """2.1.1 ``task_info.type``: what ``task_info.value`` identifies the task by."""

    AGENT_ID = "agent_id"
    DESCRIPTION = "description"


class OutputStatus(_WireEnum):
    """2.1.1 ``task_status`` of a task output line (progress, not the final word)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class CommandType(_WireEnum):
    """12.2 agent command ``command_type``."""

    EXECUTE = "execute"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    CONFIGURE = "configure"


class AgentState(_WireEnum):
    """12.2 agent status ``status`` (2.1's ``agent.ready`` is ``idle``, ERRATA 15)."""

    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"
    OFFLINE = "offline"
    STARTING = "starting"
    STOPPING = "stopping"


class TaskType(_WireEnum):
    """12.2 ``task_type``: a closed set (also the ``{task_type}`` token of task subjects)."""

    ANALYSIS = "analysis"
    SYNTHESIS = "synthesis"
    EXECUTION = "execution"
    VALIDATION = "validation"
    MONITORING = "monitoring"


class TaskStatus(_WireEnum):
    """12.2 task result ``status`` (the final word on a task)."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"


class ClaudeContextType(_WireEnum):
    """Ours: a Claude Code hook event the spec has no hook type for, as the ``{context_type}``
    token of ``cli.context.{group_id}.{context_type}`` (its name in snake case; spec-notes 27).

    ``file_change`` is not one: a ``FileChanged`` is the spec's ``on_file_change`` HookEvent.
    """

    USER_PROMPT_SUBMIT = "user_prompt_submit"
    NOTIFICATION = "notification"
    STOP = "stop"
    STOP_FAILURE = "stop_failure"
    SUBAGENT_START = "subagent_start"
    SUBAGENT_STOP = "subagent_stop"
    PRE_COMPACT = "pre_compact"
    POST_COMPACT = "post_compact"
    SESSION_END = "session_end"
    PERMISSION_REQUEST = "permission_request"
    PERMISSION_DENIED = "permission_denied"
    TASK_CREATED = "task_created"
    TASK_COMPLETED = "task_completed"
    TEAMMATE_IDLE = "teammate_idle"
    CONFIG_CHANGE = "config_change"
    INSTRUCTIONS_LOADED = "instructions_loaded"
    CWD_CHANGED = "cwd_changed"
    WORKTREE_CREATE = "worktree_create"
    WORKTREE_REMOVE = "worktree_remove"
    ELICITATION = "elicitation"
    ELICITATION_RESULT = "elicitation_result"
    SETUP = "setup"
    USER_PROMPT_EXPANSION = "user_prompt_expansion"
    POST_TOOL_BATCH = "post_tool_batch"
