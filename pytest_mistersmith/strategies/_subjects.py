"""Valid subjects of a taxonomy template, with realistic tokens (private)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_mistersmith.strategies import _values as v
from pytest_mistersmith.strategies._models import SEEDS
from simulator.errors import SubjectError
from simulator.protocol import models as m
from simulator.protocol import subjects as subj

__all__ = ["param_strategy", "subject_strategy"]


def _agent_id(seed: int) -> str:
    return v.agent_id(v.source(seed))


def _enum(enum: type[Any]) -> st.SearchStrategy[str]:
    return st.sampled_from(tuple(member.value for member in enum))


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(0, 2**32 - 1).map(lambda n: f"{prefix}-{n:08x}")


_TOKENS: dict[str, tuple[str, ...]] = {
    "metric_type": ("cpu", "memory", "disk", "latency", "throughput", "tokens"),
    "level": ("debug", "info", "warn", "error", "trace"),
    "event_type": ("started", "stopped", "task_started", "task_completed", "crashed"),
    "operation": ("shutdown", "restart", "drain", "pause", "resume", "reload"),
    "service_type": ("agent", "orchestrator", "tool", "storage", "llm"),
    "component": ("nats", "dispatcher", "scheduler", "agent-pool", "jetstream", "gateway"),
    "action": ("get", "set", "update", "reload", "delete", "create"),
    "severity": ("critical", "error", "warning", "info"),
    "event": ("created", "assigned", "completed"),
    "state": ("ready", "busy"),
    "type": ("restart", "shutdown", "config", "ping"),
    "status_type": tuple(member.value for member in m.AgentState),
}


@functools.cache
def param_strategy(name: str) -> st.SearchStrategy[Any]:
    """The default strategy of a template parameter, by its name."""
    agent_ids = SEEDS.map(_agent_id)
    special: dict[str, st.SearchStrategy[Any]] = {
        "agent_id": agent_ids,
        "target": agent_ids,
        "task_id": st.uuids(version=4).map(str),
        "task_type": _enum(m.TaskType),
        "hook_type": _enum(m.HookType),
        # cli.context.{group_id}.file_change is a template of its own (ERRATA 27)
        "context_type": _enum(m.ClaudeContextType),
        "command_type": _enum(m.CommandType),
        "stage": st.sampled_from(sorted(subj.HOOK_STAGES_21)),
        "priority": st.integers(1, 10),
        "workflow_id": _ids("wf"),
        "group_id": _ids("grp"),
    }
    if name in special:
        return special[name]
    if name in _TOKENS:
        return st.sampled_from(_TOKENS[name])
    return st.sampled_from(("alpha", "beta", "main", "default", "local"))


def _template(template: object) -> subj.Template:
    if isinstance(template, subj.Template):
        return template
    if isinstance(template, str):
        try:
            return subj.template(template)
        except SubjectError as exc:
            raise InvalidArgument(f"subjects(): {exc}") from None
    raise InvalidArgument(
        f"subjects() takes a template name or a simulator.protocol.subjects.Template, got "
        f"{template!r}"
    )


def _param(name: str, params: Mapping[str, object]) -> st.SearchStrategy[Any]:
    if name not in params:
        return param_strategy(name)
    given = params[name]
    return given if isinstance(given, st.SearchStrategy) else st.just(given)


def subject_strategy(template: object, params: Mapping[str, object]) -> st.SearchStrategy[str]:
    """Subjects of ``template``; ``params`` are fixed values or strategies (checked now)."""
    tmpl = _template(template)
    unknown = sorted(set(params) - set(tmpl.params))
    if unknown:
        raise InvalidArgument(
            f"subjects({tmpl.name!r}): unknown parameter(s) {unknown}; "
            f"{tmpl.pattern} takes {list(tmpl.params) or 'none'}"
        )
    fixed = {k: p for k, p in params.items() if not isinstance(p, st.SearchStrategy)}
    if fixed:
        sample = dict(subj.parse(tmpl.example()).params)
        try:
            tmpl.build(**{**sample, **fixed})
        except SubjectError as exc:
            raise InvalidArgument(f"subjects({tmpl.name!r}): {exc}") from None
    strategies = {name: _param(name, params) for name in tmpl.params}
    if not strategies:
        return st.just(tmpl.build())
    return st.fixed_dictionaries(strategies).map(lambda values: tmpl.build(**values))
