"""The dispatcher: capability discovery, task assignment, workflows with dependencies.

* Discovery: a :class:`CapabilityQuery` on ``system.discovery.capabilities`` (core request, many
  replies gathered on one inbox until every expected agent answered or a second passed). A
  capability is named like the task type it takes (``analysis`` takes analysis tasks).
* Assignment: :class:`~simulator.agents.behaviour.TaskFactory` draws each task (seeded) and a
  capable agent for it. The stream path is a JetStream publish on
  ``tasks.{task_type}.assignment`` with ``Nats-Msg-Id`` = ``{task_id}.{run_id}`` (a repeat
  within the duplicate window is dropped by the server). ``run_id`` is random per dispatcher,
  not seeded: with the task id alone, a second run of the same seed within the stream's
  300 s window, or the next test (a purge does not clear the server's de-duplication
  memory), would have every stream assignment dropped as a duplicate. It is a header, not
  payload, so same seed still means same payloads. The queue path (``TaskMix.queue_share``) is a
  core publish on ``tasks.{task_type}.queue.{priority}``, taken by one member of a queue group.
* Tracking: one subscription on ``tasks.*.result`` and ``tasks.*.error`` closes each task;
  :attr:`Dispatcher.idle` is true when none is outstanding. A stream assignment that reached
  its consumer's ``max_deliver`` unfinished (JetStream's advisory on
  ``$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.task_lifecycle.*`` names its stream sequence)
  is closed as ``failed``, listed in :attr:`Dispatcher.undeliverable` and counted as an error:
  no agent will get it again.
* Workflows: :func:`~simulator.agents.behaviour.plan_workflow` (a DAG of 3-4 steps). Published:
  ``workflow.{id}.orchestration`` (started / completed / failed), ``.dependencies`` (the DAG,
  task id → ids it waits for), ``.coordination`` (a step assigned, a step completed), and
  ``.rollback`` (a step did not complete: the completed ones are listed to undo; the steps left
  are never assigned). A step is assigned only when every step it depends on completed.
* Cancel: :meth:`Dispatcher.cancel` publishes a :class:`TaskCancel` on ``tasks.{id}.cancel``.
* 2.1's topic conventions: a :class:`TaskEvent` on ``task.created`` and ``task.assigned`` for
  every task submitted, and on ``task.completed`` (with its final status) when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from simulator.agents.behaviour import Path, TaskFactory, plan_workflow, rng_for, seeded_uuid
from simulator.bus import Bus, now
from simulator.protocol import subjects
from simulator.protocol.channels import DISCOVERY_SERVICE
from simulator.protocol.models import (
    CapabilityQuery,
    CapabilityResponse,
    TaskAssignment,
    TaskCancel,
    TaskEvent,
    TaskResult,
    TaskStatus,
    TaskType,
    WorkflowKind,
    WorkflowMessage,
    make,
)
from simulator.swarm.scenario import Scenario

__all__ = ["DISCOVERY_SERVICE", "MAX_DELIVERIES_ADVISORY", "Dispatcher"]

#: JetStream's advisory for a message its consumer will not deliver again (max_deliver).
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.task_lifecycle.*"


@dataclass
class _Workflow:
    workflow_id: str
    steps: tuple[tuple[str, tuple[int, ...]], ...]
    task_ids: tuple[str, ...]
    assigned: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)
    done: bool = False


class Dispatcher:
    """Assigns tasks by capability and runs workflows, for one scenario."""

    def __init__(self, bus: Bus, scenario: Scenario) -> None:
        self.bus = bus
        self.scenario = scenario
        self.factory = TaskFactory(scenario.seed, scenario.tasks)
        self.capable: dict[str, list[str]] = {}
        self.outstanding: dict[str, TaskAssignment] = {}
        self.assigned: list[TaskAssignment] = []
        self.finished: dict[str, TaskStatus] = {}
        #: Stream assignments JetStream gave up on (max_deliver reached), by task id.
        self.undeliverable: list[str] = []
        self._seq_of: dict[str, int] = {}  # task id → its stream sequence, while outstanding
        self.workflows: dict[str, _Workflow] = {}
        self.changed = asyncio.Event()
        self._tasks_made = 0
        self._workflows_made = 0
        self._by_task: dict[str, tuple[_Workflow, int]] = {}
        self._subs: list[Subscription] = []
        self._halt = asyncio.Event()
        #: Makes ``Nats-Msg-Id`` unique per run (see the module docstring).
        self.run_id = uuid.uuid4().hex[:12]

    @property
    def idle(self) -> bool:
        """No task outstanding and no workflow running."""
        return not self.outstanding and all(w.done for w in self.workflows.values())

    async def start(self, expected_agents: int, timeout: float = 1.0) -> None:
        """Track results and errors, and discover the agents' capabilities."""
        for name in ("task_result", "task_error"):
            pattern = subjects.template(name).wildcard
            self._subs.append(await self.bus.subscribe(pattern, self._on_final))
        self._subs.append(await self.bus.subscribe(MAX_DELIVERIES_ADVISORY, self._on_given_up))
        await self.bus.settle()
        await self.discover(expected_agents, timeout)

    async def stop(self) -> None:
        """Stop dispatching and tracking."""
        self._halt.set()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    async def discover(self, expected: int, timeout: float = 1.0) -> dict[str, list[str]]:
        """Ask every agent for its capabilities; index agent ids by task type."""
        query = CapabilityQuery(
            query_id=seeded_uuid(rng_for(self.scenario.seed, "query", len(self.capable))),
            required_capabilities=[],
            timestamp=now(),
        )
        subject = subjects.system_discovery(DISCOVERY_SERVICE)
        replies = await self.bus.gather(
            "system_discovery", subject, query, expected=expected, timeout=timeout
        )
        capable: dict[str, set[str]] = {t.value: set() for t in TaskType}
        for msg in replies:
            try:
                answer = CapabilityResponse.model_validate_json(msg.data)
            except ValidationError:
                self.bus.metrics.error("dispatcher", "invalid capability response")
                continue
            for cap in answer.capabilities:
                capable.setdefault(cap, set()).add(answer.agent_id)
        self.capable = {cap: sorted(ids) for cap, ids in capable.items()}
        return self.capable

    async def submit(
        self,
        task_type: str | None = None,
        *,
        path: Path | None = None,
        key: tuple[object, ...] | None = None,
        task_id: str | None = None,
        dependencies: Sequence[str] = (),
    ) -> TaskAssignment:
        """Assign one task (drawn from the mix unless ``task_type``) by the path it draws."""
        if key is None:
            key = ("task", self._tasks_made)
            self._tasks_made += 1
        assignment, drawn = self.factory.next_task(
            now(),
            self.capable,
            key,
            task_type=task_type,
            task_id=task_id,
            dependencies=dependencies,
            force_path=path,
        )
        self.outstanding[assignment.task_id] = assignment
        self.assigned.append(assignment)
        await self._task_event("created", assignment)
        t = assignment.task_type.value
        if drawn == "queue":
            subject = subjects.task_queue(t, assignment.priority or 5)
            await self.bus.publish("task_queue", subject, assignment)
        else:
            subject = subjects.task_assignment(t)
            try:
                ack = await self.bus.js_publish(
                    "task_assignment",
                    subject,
                    assignment,
                    msg_id=f"{assignment.task_id}.{self.run_id}",
                )
            except (NatsError, asyncio.TimeoutError) as exc:
                if self.bus.history is None:  # only a recorded (fault) run goes on without it
                    raise
                self.outstanding.pop(assignment.task_id, None)
                self.assigned.remove(assignment)
                self.bus.metrics.error(
                    "dispatcher", f"task {assignment.task_id}: assignment not acknowledged: {exc!r}"
                )
                return assignment
            self._seq_of[assignment.task_id] = ack.seq
        await self._task_event("assigned", assignment)
        return assignment

    async def _task_event(
        self, event: str, assignment: TaskAssignment, status: TaskStatus | None = None
    ) -> None:
        """2.1's topic conventions: ``task.created``, ``task.assigned``, ``task.completed``."""
        message = make(
            TaskEvent,
            event=event,
            task_id=assignment.task_id,
            task_type=assignment.task_type,
            agent_id=assignment.assigned_agent if event != "created" else None,
            status=status,
            timestamp=now(),
        )
        await self.bus.publish("task_event", subjects.task_event(event), message)

    async def dispatch(self, count: int) -> list[TaskAssignment]:
        """Assign ``count`` tasks of the mix at once."""
        return [await self.submit() for _ in range(count)]

    async def cancel(self, task_id: str, reason: str = "cancelled by the dispatcher") -> None:
        """Ask the agent holding ``task_id`` to cancel it."""
        cancel = TaskCancel(
            task_id=task_id, reason=reason, requested_by="dispatcher", timestamp=now()
        )
        await self.bus.publish("task_cancel", subjects.task_cancel(task_id), cancel)

    async def run(self, duration: float) -> None:
        """Assign the mix's tasks at its rate and start workflows, for ``duration`` seconds."""
        mix = self.scenario.tasks
        plan: list[tuple[float, str]] = [
            (i / mix.rate, "task") for i in range(int(mix.rate * duration))
        ]
        if mix.workflows_per_minute > 0:
            every = 60.0 / mix.workflows_per_minute
            plan += [(j * every, "workflow") for j in range(int(duration / every))]
        loop = asyncio.get_running_loop()
        start = loop.time()
        for at, kind in sorted(plan):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._halt.wait(), max(0.0, start + at - loop.time()))
            if self._halt.is_set():
                return
            await (self.submit() if kind == "task" else self.start_workflow())
        # the run lasts its duration even when the plan ends sooner (a low rate, or none)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._halt.wait(), max(0.0, start + duration - loop.time()))

    # --- workflows ------------------------------------------------------------------------

    async def start_workflow(self) -> str:
        """Start the next workflow of the run; return its id."""
        types = [
            t for t, ids in self.capable.items() if ids and t in self.factory.weights(self.capable)
        ]
        plan = plan_workflow(self.scenario.seed, self._workflows_made, types)
        self._workflows_made += 1
        wf = _Workflow(plan.workflow_id, plan.steps, plan.task_ids)
        self.workflows[wf.workflow_id] = wf
        deps = {wf.task_ids[i]: [wf.task_ids[d] for d in ds] for i, (_, ds) in enumerate(wf.steps)}
        await self._wf(wf, "orchestration", "started")
        await self._wf(wf, "dependencies", "declared", dependencies=deps)
        if not wf.steps:
            wf.done = True
            await self._wf(wf, "orchestration", "completed")
        await self._release(wf)
        return wf.workflow_id

    async def _wf(
        self,
        wf: _Workflow,
        kind: WorkflowKind,
        status: str,
        *,
        task_id: str | None = None,
        task_ids: Sequence[str] | None = None,
        dependencies: dict[str, list[str]] | None = None,
    ) -> None:
        message = make(
            WorkflowMessage,
            workflow_id=wf.workflow_id,
            kind=kind,
            status=status,
            task_ids=list(wf.task_ids if task_ids is None else task_ids),
            task_id=task_id,
            dependencies=dependencies,
            timestamp=now(),
        )
        subject = getattr(subjects, f"workflow_{kind}")(wf.workflow_id)
        await self.bus.publish(f"workflow_{kind}", subject, message)

    async def _release(self, wf: _Workflow) -> None:
        for i, (task_type, deps) in enumerate(wf.steps):
            if i in wf.assigned or not set(deps) <= wf.completed:
                continue
            wf.assigned.add(i)
            task_id = wf.task_ids[i]
            self._by_task[task_id] = (wf, i)
            await self.submit(
                task_type,
                path="stream",
                key=("workflow", wf.workflow_id, i),
                task_id=task_id,
                dependencies=[wf.task_ids[d] for d in deps],
            )
            await self._wf(wf, "coordination", "assigned", task_id=task_id)

    async def _step_done(self, task_id: str, status: TaskStatus) -> None:
        wf, i = self._by_task.pop(task_id)
        if wf.done:
            return
        if status is not TaskStatus.COMPLETED:
            wf.done = True
            undo = [wf.task_ids[j] for j in sorted(wf.completed)]
            await self._wf(wf, "rollback", f"step {status.value}", task_id=task_id, task_ids=undo)
            await self._wf(wf, "orchestration", "failed", task_id=task_id)
            return
        wf.completed.add(i)
        await self._wf(wf, "coordination", "completed", task_id=task_id)
        if len(wf.completed) == len(wf.steps):
            wf.done = True
            await self._wf(wf, "orchestration", "completed")
        else:
            await self._release(wf)

    async def _on_final(self, msg: Msg) -> None:
        task_id = subjects.parse(msg.subject).params["task_id"]
        if task_id not in self.outstanding:
            return
        try:
            status = TaskResult.model_validate_json(msg.data).status
        except ValidationError:
            self.bus.metrics.error("dispatcher", f"invalid task result on {msg.subject}")
            return
        await self._close(task_id, status)

    async def _on_given_up(self, msg: Msg) -> None:
        try:
            advisory = json.loads(msg.data)
            seq, deliveries = int(advisory["stream_seq"]), advisory.get("deliveries")
        except (ValueError, KeyError, TypeError):
            self.bus.metrics.error("dispatcher", f"unreadable advisory on {msg.subject}")
            return
        # rare (a task given up on): a scan beats keeping a second, reverse index
        task_id = next((t for t, q in self._seq_of.items() if q == seq), None)
        if task_id is None:  # not ours, or already closed
            return
        self.undeliverable.append(task_id)
        self.bus.metrics.error(
            "dispatcher",
            f"task {task_id} was delivered {deliveries} times without a final word; "
            "JetStream will not deliver it again (max_deliver)",
        )
        await self._close(task_id, TaskStatus.FAILED)

    async def _close(self, task_id: str, status: TaskStatus) -> None:
        assignment = self.outstanding.pop(task_id)
        self._seq_of.pop(task_id, None)
        self.finished[task_id] = status
        await self._task_event("completed", assignment, status)
        if task_id in self._by_task:
            await self._step_done(task_id, status)
        self.changed.set()
