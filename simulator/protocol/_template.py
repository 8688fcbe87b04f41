"""A subject template (``tasks.{task_id}.result``) and the domains of its parameters (private).

The templates themselves are rows of :mod:`simulator.protocol.channels`; builders, ``parse``
and matching live in :mod:`simulator.protocol.subjects`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from simulator.errors import SubjectError
from simulator.protocol._tokens import validate_token

__all__ = ["DOMAINS", "HOOK_STAGES_21", "HOOK_TYPES", "TASK_TYPES", "Template"]

# The closed enums of 12.2 and 2.1.1 (task types: ERRATA 9); kept here as strings so that the
# subject layer does not depend on the models.
TASK_TYPES = frozenset({"analysis", "synthesis", "execution", "validation", "monitoring"})
HOOK_TYPES = frozenset({"startup", "pre_task", "post_task", "on_error", "on_file_change"})
HOOK_STAGES_21 = frozenset({"pre", "post", "error"})
_PARAM_RE = re.compile(r"\{(\w+)\}")
_UUID_RE = re.compile(r"\A[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def _check_task_type(name: str, value: str) -> None:
    if value not in TASK_TYPES:
        raise SubjectError(
            f"{name}={value!r} is not a task type: expected one of {sorted(TASK_TYPES)} "
            "(ERRATA 9: task types are the closed enum of 12.2)"
        )


def _check_task_id(name: str, value: str) -> None:
    if not _UUID_RE.match(value):
        raise SubjectError(
            f"{name}={value!r} is not a task id: expected a UUID such as "
            f"{uuid.UUID(int=0)} (ERRATA 9: task ids are UUIDs)"
        )


def _one_of(allowed: frozenset[str], what: str) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        if value not in allowed:
            raise SubjectError(f"{name}={value!r} is not {what}: expected one of {sorted(allowed)}")

    return check


# Parameters whose domain is narrower than "any token".
DOMAINS: Mapping[str, Callable[[str, str], None]] = {
    "task_type": _check_task_type,
    "task_id": _check_task_id,
    "hook_type": _one_of(HOOK_TYPES, "a hook type"),
    "stage": _one_of(HOOK_STAGES_21, "a 2.1 hook stage"),
}


@dataclass(frozen=True)
class Template:
    """One subject template of the taxonomy, such as ``tasks.{task_id}.result``."""

    name: str
    pattern: str
    section: str
    request_reply: bool = False
    params: tuple[str, ...] = field(init=False)
    #: The template's tokens, parameters still in braces (split once: ``parse`` reads them for
    #: every template it tries).
    tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(_PARAM_RE.findall(self.pattern)))
        object.__setattr__(self, "tokens", tuple(self.pattern.split(".")))

    @property
    def wildcard(self) -> str:
        """The template as a NATS pattern: every parameter becomes ``*``."""
        return _PARAM_RE.sub("*", self.pattern)

    def narrowed(self, **params: object) -> str:
        """The template as a NATS pattern with ``params`` filled in (validated) and every other
        parameter ``*``: ``agents.{agent_id}.commands.*`` for one agent."""
        extra = params.keys() - set(self.params)
        if extra:
            raise SubjectError(
                f"{self.name} ({self.pattern}) takes parameters {list(self.params)}; "
                f"unexpected {sorted(extra)}"
            )
        tokens = []
        for token in self.tokens:
            name = token[1:-1] if token.startswith("{") else None
            if name is None:
                tokens.append(token)
            elif name in params:
                tokens.append(validate_token(name, params[name]))
            else:
                tokens.append("*")
        return ".".join(tokens)

    def build(self, **params: object) -> str:
        """Fill in the template, validating every parameter."""
        if len(params) != len(self.params) or not all(p in params for p in self.params):
            missing = set(self.params) - params.keys()
            extra = params.keys() - set(self.params)
            raise SubjectError(
                f"{self.name} ({self.pattern}) takes parameters {list(self.params)}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        values: dict[str, str] = {}
        for name in self.params:
            text = validate_token(name, params[name])
            check = DOMAINS.get(name)
            if check is not None:
                check(name, text)
            values[name] = text
        return self.pattern.format(**values)

    def example(self) -> str:
        """A valid subject of this template, for documentation and tables."""
        samples = {
            "task_type": "analysis",
            "task_id": "3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f",
            "hook_type": "pre_task",
            "stage": "pre",
        }
        return self.build(**{p: samples.get(p, p.replace("_", "-")) for p in self.params})
