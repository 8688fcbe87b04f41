"""Simulated agents: behaviour (pure, seeded), the agent, the hook flow and responder, payloads."""

from __future__ import annotations

from simulator.agents.agent import Agent, AgentState
from simulator.agents.hooks import HOOK_EVENT_HEADER, HookGateway, HookResponder

__all__ = ["HOOK_EVENT_HEADER", "Agent", "AgentState", "HookGateway", "HookResponder"]
