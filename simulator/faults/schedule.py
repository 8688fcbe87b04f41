"""Fault schedules: ``kill:stream-leader@every 10s``, ``pause:random@15s for 3s``, parsed.

A SPEC is one or more faults separated by ``,`` or ``;``; each is ``ACTION:TARGET`` with an
optional ``@WHEN`` (``@20s`` once, ``@every 10s`` repeatedly; default: once, at half the run)
and an optional ``for DURATION`` (how long the node stays down, frozen or cut off before it is
brought back; default 3 s). Actions: ``kill`` (SIGKILL / ``docker kill``, started again after
the duration), ``stop`` (graceful, started again), ``restart`` (killed and started at once),
``pause`` (frozen, then resumed), ``partition`` (cut off the cluster network, then healed;
docker nodes only). Targets: ``stream-leader`` (of ``task_lifecycle``, the stream the swarm's
JetStream publishes go to; ``stream-leader=NAME`` for another), ``meta-leader``, ``random``
(seeded), ``node=N``, ``minority`` (the largest minority of the nodes, e.g. 1 of 3) and ``all``.

:func:`parse_faults` raises :class:`~simulator.errors.ConfigError` naming the bad token;
:func:`check_faults` the faults a run cannot do (partition on binary nodes, a time past the
run's duration). Durations: a number of seconds with an optional unit (``ms``, ``s``, ``m``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from simulator.errors import ConfigError

__all__ = [
    "DEFAULT_STREAM",
    "FaultAction",
    "FaultSpec",
    "TargetKind",
    "check_faults",
    "parse_duration",
    "parse_faults",
]

FaultAction = Literal["kill", "stop", "restart", "pause", "partition"]
TargetKind = Literal["stream-leader", "meta-leader", "random", "node", "minority", "all"]

#: The stream ``stream-leader`` means when no ``=NAME`` is given.
DEFAULT_STREAM = "task_lifecycle"
_DEFAULT_FOR = 3.0
_ACTIONS: tuple[FaultAction, ...] = get_args(FaultAction)
_TARGETS: tuple[TargetKind, ...] = get_args(TargetKind)
_DURATION_RE = re.compile(r"\A(\d+(?:\.\d*)?|\.\d+)(ms|s|m)?\Z")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
_FAULT_RE = re.compile(
    r"\A(?P<action>[^:@\s]+):(?P<target>[^@\s]+)"
    r"(?:\s*@\s*(?P<every>every\s+)?(?P<at>\S+))?"
    r"(?:\s+for\s+(?P<for>\S+))?\Z"
)
_STREAM_RE = re.compile(r"\A[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True)
class FaultSpec:
    """One fault of a schedule, as written (``text``) and parsed."""

    text: str
    action: FaultAction
    target: TargetKind
    #: The stream of ``stream-leader``; the node index of ``node``.
    stream: str | None = None
    node: int | None = None
    #: Seconds from the run's start of the first injection (None: half the run).
    at: float | None = None
    #: Seconds between injections (None: once).
    every: float | None = None
    #: Seconds the node stays down (0 for ``restart``).
    duration: float = _DEFAULT_FOR

    def times(self, run_duration: float) -> list[float]:
        """The seconds from the run's start at which this fault is injected."""
        first = run_duration / 2 if self.at is None else self.at
        if self.every is None:
            return [first]
        out: list[float] = []
        t = first
        while t + self.duration < run_duration:
            out.append(t)
            t += self.every
        return out


def parse_duration(text: str, what: str) -> float:
    """Seconds of ``text`` (``10``, ``10s``, ``500ms``, ``2m``); ConfigError naming ``what``."""
    match = _DURATION_RE.match(text.strip())
    if match is None:
        raise ConfigError(f"{what}: {text!r} is not a duration (write 10s, 500ms or 2m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _target(token: str, where: str) -> tuple[TargetKind, str | None, int | None]:
    name, _, value = token.partition("=")
    if name not in _TARGETS:
        raise ConfigError(
            f"{where}: unknown target {name!r} (one of {', '.join(_TARGETS)}; "
            "stream-leader=NAME, node=N)"
        )
    kind: TargetKind = name
    if kind == "node":
        if not value.isdigit():
            raise ConfigError(f"{where}: node={value!r} is not a node index (node=0, node=1...)")
        return kind, None, int(value)
    if kind == "stream-leader":
        if value and not _STREAM_RE.match(value):
            raise ConfigError(f"{where}: stream-leader={value!r} is not a stream name")
        return kind, value or DEFAULT_STREAM, None
    if value:
        raise ConfigError(f"{where}: target {kind!r} takes no '={value}'")
    return kind, None, None


def _one(text: str, option: str) -> FaultSpec:
    where = f"{option} {text!r}"
    match = _FAULT_RE.match(text)
    if match is None:
        raise ConfigError(
            f"{where}: not a fault (write ACTION:TARGET[@WHEN][ for DURATION], "
            "e.g. kill:stream-leader@every 10s)"
        )
    action = match.group("action")
    if action not in _ACTIONS:
        raise ConfigError(f"{where}: unknown fault {action!r} (one of {', '.join(_ACTIONS)})")
    target, stream, node = _target(match.group("target"), where)
    at = every = None
    if match.group("at") is not None:
        value = parse_duration(match.group("at"), where)
        if match.group("every"):
            if value <= 0:
                raise ConfigError(f"{where}: every {match.group('at')} must be above 0")
            every, at = value, value
        else:
            at = value
    duration = 0.0 if action == "restart" else _DEFAULT_FOR
    if match.group("for") is not None:
        if action == "restart":
            raise ConfigError(f"{where}: restart brings the node back at once; drop 'for'")
        duration = parse_duration(match.group("for"), where)
    if every is not None and duration >= every:
        raise ConfigError(f"{where}: 'for {duration:g}s' must be shorter than 'every {every:g}s'")
    return FaultSpec(text, action, target, stream, node, at, every, duration)


def parse_faults(
    spec: str | list[str] | tuple[str, ...], option: str = "--faults"
) -> list[FaultSpec]:
    """The faults of ``spec`` (a string of ``,``/``;``-separated faults, or a list of them)."""
    items = [spec] if isinstance(spec, str) else list(spec)
    texts = [t.strip() for item in items for t in re.split(r"[,;]", item) if t.strip()]
    if not texts:
        raise ConfigError(f"{option}: no fault given (e.g. kill:stream-leader@every 10s)")
    return [_one(" ".join(text.split()), option) for text in texts]


def check_faults(
    faults: list[FaultSpec], *, duration: float, nodes: int, nodes_on: str, option: str = "--faults"
) -> None:
    """Refuse what this run cannot do: partition on binary nodes, a node index out of range,
    a fault that starts or ends past the run's ``duration``."""
    for fault in faults:
        where = f"{option} {fault.text!r}"
        if fault.action == "partition" and nodes_on != "docker":
            raise ConfigError(
                f"{where}: partition needs docker nodes (--nodes-on docker); binary nodes "
                "share loopback and cannot be cut off"
            )
        if fault.node is not None and not 0 <= fault.node < nodes:
            raise ConfigError(f"{where}: node={fault.node} is not in 0..{nodes - 1}")
        first = fault.times(duration)
        if not first or first[0] + fault.duration > duration:
            raise ConfigError(
                f"{where}: starts or ends past the run's duration ({duration:g} s); "
                "inject earlier or run longer (--duration)"
            )
