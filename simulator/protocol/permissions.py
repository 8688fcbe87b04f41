"""Who may publish and subscribe where: per-identity allow lists derived from the catalogue.

An :class:`Identity` is a role of :class:`~simulator.protocol.channels.Role` (an agent with its
own id: ``agent:<id>``) or ``admin``, the test's own client, which may do everything. Its
:class:`Permissions` come from the channels whose publisher or subscriber the role is
(:data:`~simulator.protocol.channels.CHANNELS`), each template turned into a subject pattern:
the agent's own id where the template has ``{agent_id}``, ``*`` for every other parameter.
Only the channels decide; nothing here lists a subject by hand.

On top of the channels, what the client library needs to use them:

- its own inbox, ``_INBOX.<user>.>`` (connect with :func:`inbox_prefix`), where it sends
  requests, publishes to stored subjects (the JetStream ack comes back there) or pulls from a
  consumer; never another identity's inbox;
- ``allow_responses`` where it answers a request-reply channel;
- the JetStream API of exactly the durable consumers of the topology whose filters cover a
  channel it subscribes to: ``$JS.API.CONSUMER.INFO``/``MSG.NEXT`` of that consumer and acks
  on ``$JS.ACK.<stream>.<consumer>.>``.

What server permissions cannot say (docs/spec-notes.md section 24): the task subjects carry the
task id, not the agent's, so "only the results of tasks it holds" is the dispatcher's check,
not the server's; ``cli.startup`` names no agent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.errors import ConfigError
from simulator.protocol.channels import CHANNELS, Channel, Pattern, Role

if TYPE_CHECKING:
    from simulator.protocol.topology import Topology

__all__ = [
    "ADMIN",
    "Identity",
    "Permissions",
    "identities",
    "identity",
    "inbox_prefix",
    "permissions",
]

#: The test's own client: every subject, no permissions block.
ADMIN = "admin"
_AGENT_PREFIX = "agent:"
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Identity:
    """Who connects: ``admin``, a role, or ``agent:<id>`` (an agent with its own id)."""

    name: str
    role: Role | None
    agent_id: str | None = None

    @property
    def user(self) -> str:
        """The user name on the server (``agent-a1`` for ``agent:a1``): one subject token."""
        return self.name.replace(":", "-")

    def __str__(self) -> str:
        return self.name


def identity(name: str) -> Identity:
    """Parse ``admin``, a role name (``dispatcher``...) or ``agent:<id>``.

    ConfigError naming the text and the known forms otherwise.
    """
    if name == ADMIN:
        return Identity(ADMIN, None)
    if name.startswith(_AGENT_PREFIX):
        agent_id = name[len(_AGENT_PREFIX) :]
        if not _ID.match(agent_id):
            raise ConfigError(
                f"identity {name!r}: the agent id must be letters, digits, '_' or '-'"
            )
        return Identity(name, Role.AGENT, agent_id)
    try:
        role = Role(name)
    except ValueError:
        known = ", ".join([ADMIN, "agent:<id>", *(r.value for r in Role if r is not Role.AGENT)])
        raise ConfigError(f"identity {name!r} is not one of: {known}") from None
    if role is Role.AGENT:
        raise ConfigError("identity 'agent' needs the agent's id: agent:<id>")
    return Identity(name, role)


def identities(agent_ids: Iterable[str] = ()) -> tuple[Identity, ...]:
    """``admin``, every role but the agent, and one ``agent:<id>`` per id."""
    roles = [identity(r.value) for r in Role if r is not Role.AGENT]
    return (identity(ADMIN), *roles, *(identity(_AGENT_PREFIX + a) for a in agent_ids))


def inbox_prefix(who: Identity) -> str:
    """The inbox prefix the identity connects with (nats-py's ``inbox_prefix``)."""
    return "_INBOX" if who.role is None else f"_INBOX.{who.user}"


@dataclass(frozen=True)
class Permissions:
    """A nats-server user's allow lists (``None``: no restriction, the admin)."""

    publish: tuple[str, ...] | None
    subscribe: tuple[str, ...] | None
    allow_responses: bool = False

    def as_conf(self) -> dict[str, object]:
        """The user's ``permissions`` block of a nats-server configuration ({} for admin)."""
        block: dict[str, object] = {}
        if self.publish is not None:
            block["publish"] = {"allow": list(self.publish)}
        if self.subscribe is not None:
            block["subscribe"] = {"allow": list(self.subscribe)}
        if self.allow_responses:
            block["allow_responses"] = True
        return block


def _pattern(chan: Channel, who: Identity) -> str:
    if who.agent_id is None or "agent_id" not in chan.template.params:
        return chan.template.wildcard
    from simulator.protocol.subjects import validate_token

    own = validate_token("agent_id", who.agent_id)
    return ".".join(
        own if t == "{agent_id}" else "*" if t.startswith("{") else t for t in chan.template.tokens
    )


def _consumers(chan: Channel, topology: Topology) -> list[tuple[str, str]]:
    from simulator.protocol.subjects import matches

    subject = chan.template.example()
    return [
        (c.stream, c.name)
        for c in topology.consumers
        if chan.stream == c.stream and any(matches(f, subject) for f in c.filters or (">",))
    ]


def permissions(who: Identity | str, topology: Topology | None = None) -> Permissions:
    """The allow lists of ``who`` over ``topology`` (ours by default, computed once per
    identity: a secured server's start asks for every identity's)."""
    who = identity(who) if isinstance(who, str) else who
    if topology is None:
        return _over_default(who)
    return _computed(who, topology)


@functools.lru_cache(maxsize=4096)
def _over_default(who: Identity) -> Permissions:
    from simulator.protocol.topology import default_topology

    return _computed(who, default_topology())


def _computed(who: Identity, topo: Topology) -> Permissions:
    if who.role is None:
        return Permissions(None, None)
    publish: dict[str, None] = {}
    subscribe: dict[str, None] = {}
    inbox = responses = False
    for chan in CHANNELS:
        if who.role in chan.publishers:
            publish.setdefault(_pattern(chan, who))
            inbox |= chan.pattern is Pattern.REQUEST or chan.stream is not None
        if who.role in chan.subscribers:
            subscribe.setdefault(_pattern(chan, who))
            responses |= chan.pattern is Pattern.REQUEST
            for stream, consumer in _consumers(chan, topo):
                inbox = True
                publish.setdefault(f"$JS.API.CONSUMER.INFO.{stream}.{consumer}")
                publish.setdefault(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}")
                publish.setdefault(f"$JS.ACK.{stream}.{consumer}.>")
    if inbox:
        subscribe.setdefault(f"{inbox_prefix(who)}.>")
    api = [p for p in publish if p.startswith("$JS.")]
    return Permissions((*(p for p in publish if p not in api), *api), tuple(subscribe), responses)
