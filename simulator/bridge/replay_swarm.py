"""``mistersmith run --replay FILE``: recorded bridge sessions played as a swarm's agents.

Each session of a ``--record`` file (the ``session_id`` of Claude Code's inputs) is an agent,
fanned out to ``fan_out`` copies (session ``S`` plays as ``S-0`` ... ``S-{N-1}``, as ``hook
replay`` does). Every agent goes through its session's hooks in order, at the recorded pace
divided by ``speed`` (``0``: no pause; the pace counts from the file's first record, so
sessions interleave as they were recorded), through one shared :class:`HookBridge`: the hook
service sees the spec's hook flow of real sessions, at scale. A tool call is a task: started
when its ``PreToolUse`` is let through, ``completed`` at its ``PostToolUse``, ``failed`` at its
``PostToolUseFailure``, ``cancelled`` when denied; each answered hook is a hook decision of the
run's metrics, each failure of the bridge an error. The scenario's hook responder answers,
as in a simulated swarm, unless the scenario turns it off.

:class:`ReplaySwarm` has the shape ``mistersmith run`` drives (``start``, ``run``, ``stop``,
``counts``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.agents.hooks import HookResponder
from simulator.bridge.claude import ANNOUNCED, CONTEXT, BridgeError
from simulator.bridge.core import BridgeConfig, Exchange, HookBridge
from simulator.bridge.record import Record, read_records
from simulator.errors import ConfigError, ServerError
from simulator.protocol.models import AgentState, HookDecision
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import Scenario

if TYPE_CHECKING:
    from simulator.bus import Bus

__all__ = ["ReplayPlan", "ReplaySwarm", "load_plan"]

_TOOL_ENDS = {"PostToolUse": "completed", "PostToolUseFailure": "failed"}


@dataclass(frozen=True)
class ReplayPlan:
    """The recorded sessions of a file, in order, and how to play them."""

    path: Path
    #: Session id -> its records, in recorded order (sessions in order of first appearance).
    sessions: Mapping[str, tuple[Record, ...]]
    speed: float = 1.0
    fan_out: int = 1

    @property
    def agent_count(self) -> int:
        """Agents in the replay: every session times the fan-out."""
        return len(self.sessions) * self.fan_out

    @property
    def span(self) -> float:
        """Seconds from the first record to the last, as recorded."""
        times = [r.at for records in self.sessions.values() for r in records]
        return (max(times) - min(times)).total_seconds() if times else 0.0

    @property
    def duration(self) -> float:
        """Seconds the replay takes at ``speed`` (0 when it goes as fast as it can)."""
        return self.span / self.speed if self.speed > 0 else 0.0


def load_plan(path: Path, speed: float = 1.0, fan_out: int = 1) -> ReplayPlan:
    """The sessions of the record file ``path``; ConfigError naming ``--replay`` and the line
    when it is not one, or when it holds no session."""
    sessions: dict[str, list[Record]] = {}
    try:
        for record in read_records(path):
            document = record.input
            session = document.get("session_id") if isinstance(document, dict) else None
            if not isinstance(session, str) or not session:
                continue  # an unreadable input: nothing to play
            sessions.setdefault(session, []).append(record)
    except OSError as error:
        raise ConfigError(f"--replay {path}: cannot read it ({error.strerror})") from None
    except ValueError as error:
        raise ConfigError(f"--replay {error}") from None
    if not sessions:
        raise ConfigError(f"--replay {path}: no recorded session (a file of hook --record?)")
    frozen = {s: tuple(records) for s, records in sessions.items()}
    return ReplayPlan(path, frozen, speed, fan_out)


def _family(name: str) -> str:
    """The catalogue channel a Claude Code event goes out on (12.1)."""
    if name in CONTEXT:
        return "cli_context"
    if name in ANNOUNCED:
        return "cli_file_change"
    return "cli_startup" if name == "SessionStart" else "cli_hook"


class ReplaySwarm:
    """The agents of a :class:`ReplayPlan` on one bridge connection, and the hook responder."""

    def __init__(
        self,
        client_url: str,
        plan: ReplayPlan,
        scenario: Scenario,
        *,
        metrics: Metrics | None = None,
        connect_options: Mapping[str, object] | None = None,
        duration: float | None = None,
    ) -> None:
        self.plan = plan
        #: Seconds after which the replay is cut short (``--duration``); None: to its end.
        self.duration = duration
        self.scenario = scenario
        self.metrics = metrics if metrics is not None else Metrics()
        config = BridgeConfig(url=client_url, timeout=max(scenario.hooks.timeout, 1.0) * 2)
        self.bridge = HookBridge(config, connect_options=dict(connect_options or {}))
        self.responder: HookResponder | None = None
        self._responder_bus: Bus | None = None
        self._client_url = client_url
        self._connect_options = dict(connect_options or {})
        self._states: dict[str, AgentState] = {
            f"{session}-{k}": AgentState.IDLE
            for session in plan.sessions
            for k in range(plan.fan_out)
        }

    async def start(self) -> None:
        """Start the scenario's hook responder (unless it has none) and connect the bridge."""
        if self.scenario.hooks.builtin_responder:
            from simulator.bus import Bus

            bus = await Bus.connect(
                self._client_url,
                self.metrics,
                name="mistersmith-replay-hooks",
                options=self._connect_options,
            )
            self._responder_bus = bus
            self.responder = HookResponder(bus, self.scenario.hooks, self.scenario.seed)
            await self.responder.start()
        try:
            await self.bridge.connect()
        except BridgeError as error:  # the run's one line, not a traceback
            raise ServerError(f"--replay: {error}") from None

    async def run(self, duration: float | None = None) -> None:
        """Play every agent's session to its end, or until :attr:`duration` (the records set
        the pace; ``duration``, the swarm's argument, is not used)."""
        first = min(r.at for records in self.plan.sessions.values() for r in records)
        started = asyncio.get_running_loop().time()
        agents = [
            self._play(f"{session}-{k}", records, first, started)
            for session, records in self.plan.sessions.items()
            for k in range(self.plan.fan_out)
        ]
        playing = asyncio.gather(*agents)
        if self.duration is None:
            await playing
            return
        try:
            await asyncio.wait_for(playing, self.duration)
        except asyncio.TimeoutError:
            self.metrics.error("replay", f"cut short after {self.duration:g} s (--duration)")

    async def _play(
        self, agent_id: str, records: Sequence[Record], first: datetime, started: float
    ) -> None:
        loop = asyncio.get_running_loop()
        self._state(agent_id, AgentState.BUSY)
        open_calls: dict[str, float] = {}
        try:
            for record in records:
                if self.plan.speed > 0:
                    offset = (record.at - first).total_seconds()
                    delay = started + offset / self.plan.speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                document = record.input
                assert isinstance(document, dict)
                raw = json.dumps({**document, "session_id": agent_id}).encode()
                sent = time.perf_counter()
                exchange = await self.bridge.exchange(raw)
                rtt_ms = (time.perf_counter() - sent) * 1000
                self._count(str(document.get("hook_event_name")), exchange, rtt_ms)
                self._count_tool(document, exchange, open_calls)
        finally:
            self._state(agent_id, AgentState.OFFLINE)

    def _count(self, name: str, exchange: Exchange, rtt_ms: float) -> None:
        if exchange.event is not None:
            self.metrics.message(_family(name))
        if exchange.answer.exit_code == 2 or (exchange.event is None and exchange.answer.message):
            self.metrics.error("bridge", exchange.answer.message)
        if exchange.response is not None:
            self.metrics.hook_answered(exchange.response.decision.value, rtt_ms)

    def _count_tool(
        self, document: Mapping[str, object], exchange: Exchange, open_calls: dict[str, float]
    ) -> None:
        name = document.get("hook_event_name")
        call = str(document.get("tool_use_id") or document.get("tool_name") or "")
        response = exchange.response
        if name == "PreToolUse":
            if exchange.answer.exit_code == 2 or (
                response is not None
                and (response.decision is HookDecision.BLOCK or response.stops_agent)
            ):
                self.metrics.task_finished("cancelled", 0.0)
            else:
                self.metrics.task_started()
                open_calls[call] = time.perf_counter()
        elif isinstance(name, str) and name in _TOOL_ENDS:
            began = open_calls.pop(call, None)
            if began is not None:
                self.metrics.task_finished(_TOOL_ENDS[name], (time.perf_counter() - began) * 1000)

    def _state(self, agent_id: str, state: AgentState) -> None:
        self._states[agent_id] = state
        self.metrics.agent_state(agent_id, state.value)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Close the bridge and the responder."""
        await self.bridge.close()
        if self.responder is not None:
            await self.responder.stop()
            self.responder = None
        if self._responder_bus is not None:
            await self._responder_bus.close()
            self._responder_bus = None

    def counts(self) -> dict[str, int]:
        """Agents per lifecycle state (every state, zeros included)."""
        counted = {state.value: 0 for state in AgentState}
        for state in self._states.values():
            counted[state.value] += 1
        return counted
