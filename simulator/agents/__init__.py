"""Simulated agents: behaviour (pure, seeded), the agent, the hook flow and responder, and the
hub that serves many agents on one connection, or each on its own (a swarm's building
blocks)."""

from __future__ import annotations

from simulator.agents._connections import AgentConnections, AgentOptions
from simulator.agents._hub import HEARTBEAT_SLOTS, TASK_CONSUMER, AgentHub
from simulator.agents._runtime import Runtime
from simulator.agents.agent import Agent, AgentState
from simulator.agents.hooks import HOOK_EVENT_HEADER, HookGateway, HookResponder

__all__ = [
    "HEARTBEAT_SLOTS",
    "HOOK_EVENT_HEADER",
    "TASK_CONSUMER",
    "Agent",
    "AgentConnections",
    "AgentHub",
    "AgentOptions",
    "AgentState",
    "HookGateway",
    "HookResponder",
    "Runtime",
]
