"""The pure, seeded parts of the simulator: no server."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from simulator.agents.behaviour import (
    TaskFactory,
    plan_task,
    plan_workflow,
    policy_decision,
    rng_for,
    seeded_uuid,
)
from simulator.agents.payloads import PAYLOADS, make
from simulator.protocol import subjects
from simulator.protocol.models import (
    HookDecision,
    HookEvent,
    HookType,
    SessionInfo,
    TaskAssignment,
)
from simulator.swarm.scenario import AgentGroup, HookPolicy, TaskMix

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CAPABLE = {"analysis": ["a-0", "a-1"], "execution": ["a-0"], "synthesis": [], "monitoring": []}


def test_seeded_uuids_are_valid_v4_and_repeatable() -> None:
    one, two = seeded_uuid(rng_for(1, "x")), seeded_uuid(rng_for(1, "x"))
    assert one == two != seeded_uuid(rng_for(2, "x"))
    assert uuid.UUID(one).version == 4


def test_task_plans_depend_on_seed_and_task_only() -> None:
    group = AgentGroup(progress_lines=4)
    task_id = seeded_uuid(rng_for(0, "t"))
    a, b = plan_task(7, group, task_id, "execution"), plan_task(7, group, task_id, "execution")
    assert a == b
    assert len(a.progress) == 4
    assert group.task_duration[0] <= a.duration <= group.task_duration[1]
    assert plan_task(8, group, task_id, "execution") != a


def test_task_factory_is_keyed_not_ordered() -> None:
    factory = TaskFactory(3, TaskMix())
    first, _ = factory.next_task(NOW, CAPABLE, ("task", 0))
    factory.next_task(NOW, CAPABLE, ("workflow", "w", 0))
    again, _ = TaskFactory(3, TaskMix()).next_task(NOW, CAPABLE, ("task", 0))
    assert first == again
    assert first.task_type.value in {"analysis", "execution"}  # only types someone offers
    assert first.assigned_agent in CAPABLE[first.task_type.value]
    assert first.deadline is not None and first.deadline > NOW
    TaskAssignment.model_validate_json(first.model_dump_json(by_alias=True, exclude_none=True))


def test_task_mix_share_of_queue_path() -> None:
    factory = TaskFactory(5, TaskMix(queue_share=0.5))
    paths = [factory.next_task(NOW, CAPABLE, ("task", i))[1] for i in range(200)]
    assert 60 < paths.count("queue") < 140


def test_workflows_are_dags_over_offered_types() -> None:
    plan = plan_workflow(1, 0, ["analysis", "execution"])
    assert plan == plan_workflow(1, 0, ["analysis", "execution"])
    assert 3 <= len(plan.steps) <= 4 and len(set(plan.task_ids)) == len(plan.steps)
    for i, (task_type, deps) in enumerate(plan.steps):
        assert task_type in {"analysis", "execution"}
        assert all(d < i for d in deps) and (i == 0 or deps)


def _event(tool: str, context: str, hook: HookType = HookType.PRE_TASK) -> HookEvent:
    session = SessionInfo(agent_id="a", session_id="s", model="m", start_time=NOW)
    return HookEvent(
        hook_type=hook,
        agent_id="a",
        tool_name=tool,
        session_info=session,
        timestamp=NOW,
        context_id=context,
    )


def test_policies() -> None:
    bash = _event("Bash", "t1")
    assert policy_decision(HookPolicy(kind="approve_all"), 0, bash).decision is HookDecision.APPROVE
    tools = HookPolicy(kind="block_tools", tools=("Bash",))
    assert policy_decision(tools, 0, bash).blocks_task
    assert not policy_decision(tools, 0, _event("Read", "t1")).blocks_task
    assert not policy_decision(tools, 0, _event("Bash", "t1", HookType.POST_TASK)).blocks_task
    rate = HookPolicy(kind="block_rate", rate=0.3)
    decisions = [policy_decision(rate, 9, _event("Read", f"t{i}")).blocks_task for i in range(300)]
    assert 50 < sum(decisions) < 130
    assert decisions == [
        policy_decision(rate, 9, _event("Read", f"t{i}")).blocks_task for i in range(300)
    ]


def test_every_payload_template_exists_and_make_drops_nulls() -> None:
    for name in PAYLOADS:
        assert subjects.template(name).name == name
    status = make(
        TaskAssignment,
        task_id=str(uuid.uuid4()),
        task_type="analysis",
        assigned_agent="a",
        timestamp=NOW,
        deadline=None,
    )
    assert "deadline" not in status.model_dump(exclude_none=True)
