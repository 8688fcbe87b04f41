"""Per-identity allow lists derived from the channel catalogue."""

from __future__ import annotations

import pytest

from simulator.errors import ConfigError
from simulator.protocol import subjects
from simulator.protocol.channels import CHANNELS, Role
from simulator.protocol.permissions import identities, identity, inbox_prefix, permissions
from simulator.protocol.subjects import matches


def allowed(patterns: tuple[str, ...] | None, subject: str) -> bool:
    return patterns is None or any(matches(p, subject) for p in patterns)


def test_an_agent_publishes_only_its_own_subjects() -> None:
    a1 = permissions("agent:a1")
    own = [
        subjects.agent_status("a1", "idle"),
        subjects.agent_heartbeat("a1"),
        "cli.hooks.pre_task.a1",
        "agent.a1.pre",
    ]
    other = [
        subjects.agent_status("a2", "idle"),
        subjects.agent_heartbeat("a2"),
        "cli.hooks.pre_task.a2",
        "agent.a2.pre",
        "agents.a2.events.started",
    ]
    assert all(allowed(a1.publish, s) for s in own)
    assert not any(allowed(a1.publish, s) for s in other)


def test_an_agent_subscribes_only_to_its_own_commands_and_responses() -> None:
    a1 = permissions("agent:a1")
    assert allowed(a1.subscribe, subjects.agent_commands("a1", "stop"))
    assert allowed(a1.subscribe, "cli.responses.a1")
    assert not allowed(a1.subscribe, subjects.agent_commands("a2", "stop"))
    assert not allowed(a1.subscribe, "cli.responses.a2")
    assert not allowed(a1.subscribe, "_INBOX.agent-a2.x")  # nor another's inbox
    assert allowed(a1.subscribe, f"{inbox_prefix(identity('agent:a1'))}.x")
    assert a1.allow_responses  # it answers commands


def test_every_role_gets_exactly_the_channels_it_publishes_and_subscribes() -> None:
    """A channel's example subject is allowed to its publishers (subscribers), and denied to
    others unless another channel of theirs covers the same subject."""
    for who in identities(["a1"]):
        granted = permissions(who)
        if who.role is None:
            assert granted.publish is None and granted.subscribe is None  # admin
            continue
        for chan in CHANNELS:
            tokens = chan.template.example().split(".")
            example = ".".join("a1" if t == "agent-id" else t for t in tokens)
            for roles, allow, what in (
                ("publishers", granted.publish, "publish"),
                ("subscribers", granted.subscribe, "subscribe"),
            ):
                mine = [c for c in CHANNELS if who.role in getattr(c, roles)]
                expected = any(matches(c.template.wildcard, example) for c in mine)
                assert allowed(allow, example) is expected, (who.name, chan.name, what)
                if who.role in getattr(chan, roles):
                    assert allowed(allow, example), (who.name, chan.name, what)


def test_jetstream_access_names_only_the_consumers_of_its_channels() -> None:
    agent = permissions("agent:a1")
    api = [p for p in agent.publish or () if p.startswith("$JS.")]
    assert api == [
        "$JS.API.CONSUMER.INFO.task_lifecycle.task_processor",
        "$JS.API.CONSUMER.MSG.NEXT.task_lifecycle.task_processor",
        "$JS.ACK.task_lifecycle.task_processor.>",
    ]
    hooks = permissions("hook_responder")
    assert not any(p.startswith("$JS.") for p in hooks.publish or ())


def test_a_requester_gets_its_inbox_and_only_responders_allow_responses() -> None:
    assert permissions("hook_responder").allow_responses  # answers agent.{id}.{stage}
    assert not permissions("dispatcher").allow_responses  # asks, never answers
    assert "_INBOX.dispatcher.>" in (permissions("dispatcher").subscribe or ())


@pytest.mark.parametrize("bad", ["root", "agent", "agent:", "agent:a.b", "agent:*"])
def test_an_unknown_identity_is_one_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="identity"):
        identity(bad)


def test_every_role_has_an_identity() -> None:
    names = {i.name for i in identities(["a1"])}
    assert names == {"admin", "agent:a1"} | {r.value for r in Role if r is not Role.AGENT}
