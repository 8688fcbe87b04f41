"""The checks of scenario values: a value in, the converted value out, or ``_Bad`` naming the
problem (private to :mod:`simulator.swarm`; :mod:`simulator.swarm.scenario` reads with them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal, get_args

HookPolicyKind = Literal["approve_all", "block_tools", "block_rate"]
HookDialect = Literal["12.1", "2.1"]
HookDecisionName = Literal["approve", "block"]

#: The 12.2 ``task_type`` values (keys of ``tasks.weights``).
TASK_TYPES = ("analysis", "synthesis", "execution", "validation", "monitoring")


class _Bad(Exception):
    """A value's problem; ``at`` is the list index or mapping key inside it, if any."""

    def __init__(self, problem: str, at: int | str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.at = at


_Check = Callable[[Any], Any]
_NAME_RE = re.compile(r"\A[A-Za-z0-9_-]+\Z")


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return repr(value)


def _int(low: int) -> _Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"{_show(value)} is not an integer")
        if value < low:
            raise _Bad(f"{value} is below the minimum {low}")
        return value

    return check


def _number(low: float, high: float | None = None, *, above: bool = False) -> _Check:
    limits = (
        f"from {low:g} to {high:g}" if high is not None else f"{'>' if above else '>='} {low:g}"
    )

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Bad(f"{_show(value)} is not a number")
        if value < low or (above and value == low) or (high is not None and value > high):
            raise _Bad(f"{value!r} is out of range (must be {limits})")
        return float(value)

    return check


def _optional(inner: _Check) -> _Check:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad(f"{_show(value)} is not a non-empty string")
    return value


def _name(value: Any) -> str:
    if not _NAME_RE.match(_text(value)):
        raise _Bad(f"{value!r} is not a valid name (use letters, digits, _ and -)")
    return str(value)


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise _Bad(f"{_show(value)} is not a list of strings")
    items = []
    for i, item in enumerate(value):
        try:
            items.append(_text(item))
        except _Bad as bad:
            raise _Bad(bad.problem, i) from None
    return tuple(items)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _choice(values: tuple[str, ...]) -> _Check:
    def check(value: Any) -> str:
        text = value if isinstance(value, str) else None
        if isinstance(value, float):  # an unquoted dialect: 12.1
            text = repr(value)
        if text not in values:
            raise _Bad(f"{_show(value)} is not one of {', '.join(values)}")
        return text

    return check


def _duration_range(value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _Bad(f"{_show(value)} is not a [min, max] pair of seconds")
    low, high = (_number(0)(v) for v in value)
    if low > high:
        raise _Bad(f"min {low:g} is above max {high:g}")
    return (low, high)


def _weights(value: Any) -> Mapping[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise _Bad(f"{_show(value)} is not a mapping of task type to weight")
    weights: dict[str, float] = {}
    for key, weight in value.items():
        if key not in TASK_TYPES:
            raise _Bad(f"{key!r} is not a 12.2 task type ({', '.join(TASK_TYPES)})", str(key))
        try:
            weights[key] = _number(0)(weight)
        except _Bad as bad:
            raise _Bad(bad.problem, str(key)) from None
    if not any(weights.values()):
        raise _Bad("every weight is 0; give at least one task type a positive weight")
    return MappingProxyType(weights)


def _faults(value: Any) -> tuple[str, ...]:
    from simulator.errors import ConfigError
    from simulator.faults.schedule import parse_faults

    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise _Bad(f"{_show(value)} is not a fault spec or a list of them")
    out: list[str] = []
    for i, text in enumerate(texts):
        try:
            out += [f.text for f in parse_faults(text, "faults")]
        except ConfigError as exc:
            at = i if isinstance(value, list) else None
            raise _Bad(str(exc).removeprefix("faults "), at) from None
    return tuple(out)


def _sync_interval(value: Any) -> str:
    text = str(value)
    if text != "always":
        from simulator.errors import ConfigError
        from simulator.faults.schedule import parse_duration

        try:
            parse_duration(text, "sync_interval")
        except ConfigError:
            raise _Bad(f"{_show(value)} is not 'always' or a duration (10s, 500ms, 2m)") from None
    return text


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{_show(value)} is not a file path")
    return value


_TOP: Mapping[str, _Check] = {
    "duration": _number(0, above=True),
    "seed": _int(0),
    "heartbeat_timeout": _number(0, above=True),
    "faults": _faults,
    "sync_interval": _optional(_sync_interval),
    "topology": _optional(_path),
}
_GROUP: Mapping[str, _Check] = {
    "name": _name,
    "count": _int(1),
    "capabilities": _texts,
    "max_tasks": _int(1),
    "heartbeat_interval": _number(0, above=True),
    "task_duration": _duration_range,
    "failure_rate": _number(0, 1),
    "progress_lines": _int(0),
}
_TASKS: Mapping[str, _Check] = {
    "rate": _number(0),
    "weights": _weights,
    "deadline": _optional(_number(0, above=True)),
    "queue_share": _number(0, 1),
    "workflows_per_minute": _number(0),
}
_HOOKS: Mapping[str, _Check] = {
    "kind": _choice(get_args(HookPolicyKind)),
    "tools": _texts,
    "rate": _number(0, 1),
    "timeout": _number(0, above=True),
    "default": _choice(get_args(HookDecisionName)),
    "dialect": _choice(get_args(HookDialect)),
    "builtin_responder": _bool,
}
