"""Benchmark of the hypothesis strategies: examples per second, as a test sees them.

Run as a script: ``python benchmarks/bench_strategies.py [--examples N]``.

What is measured: for each strategy, one ``@given`` test whose body only counts its argument,
run with ``max_examples=N``, ``database=None``, ``phases=[Phase.generate]`` (no shrinking, no
replay) and no deadline; the rate is the examples the body saw divided by the wall time of the
whole run. Every cell is measured once per round, ``--repeat`` rounds (5 by default), and the
table shows each cell's median round: a shared VM's CPU is noisy, and the median is what a
typical run gets, where the best of several would be the luckiest. The rate includes
hypothesis' own per-example work, the honest cost a user's test pays; the ``st.integers()``
baseline row is that work alone. Valid examples are checked to be instances of their model;
invalid payloads are not checked here (``tests/strategies/test_invalid_payloads.py`` does).

The goal, for each 12.2 message (AgentCommand, AgentStatus, TaskAssignment, TaskResult), with
``messages()`` and with ``payloads()``: at least half the rate of the ``st.integers()``
baseline measured in the same round (the median over the rounds of that ratio). A ratio to a
baseline of the same run holds on a busy or a slower machine, where a fixed rate would not.

Contract cases per second (``--contract-examples N``, 0 to skip): each ready-made contract
checked against the correct responder of ``tests/responders.py`` on an embedded server
(``BinaryServer(for_topology(default_topology()))``, the topology clamped to one node and
applied, so stored subjects are stored), ``database=None`` and the generate phase only; a case
is what the responder handled, divided by the wall time of the whole check. Measured once (the
network dominates, not the CPU): ``check_contract`` as shipped (a case ends after its answers
and one round trip to the server), with ``grace=0.01`` (10 ms of listening for duplicates after
the last expected answer, which every case did before; ``benchmarks/bench_contracts.py``
compares the two against the simulator over several rounds), and ``check_rejects_invalid``
(an invalid payload, then a valid one, per case). The capability query runs with one responder
(``capability_contract(1)``), since the open-ended one waits its whole timeout per case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from pytest_mistersmith.strategies import invalid_payloads, messages, payloads
from simulator.protocol.models import MODELS

__all__ = ["GOAL_RATIO", "SPEC_12_2", "contract_rates", "main", "rate"]

GOAL_RATIO = 0.5
"""Valid examples per second wanted for each 12.2 message, over the ``st.integers()`` baseline's
rate in the same round."""
SPEC_12_2 = ("AgentCommand", "AgentStatus", "TaskAssignment", "TaskResult")


def rate(
    strategy: st.SearchStrategy[Any], examples: int, check: Callable[[Any], bool] | None = None
) -> float:
    """Examples per second one ``@given`` test of ``strategy`` sees (generate phase only)."""
    seen = 0

    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(value: Any) -> None:
        nonlocal seen
        if check is not None and not check(value):
            raise AssertionError(f"unexpected example {value!r}")
        seen += 1

    start = time.perf_counter()
    body()
    return seen / (time.perf_counter() - start)


def _is(model: type[BaseModel]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, model)


Cell = tuple[str, str]


def _cells(examples: int, invalid_examples: int) -> dict[Cell, Callable[[], float]]:
    """Every measurement of the table, by (row, column)."""
    cells: dict[Cell, Callable[[], float]] = {
        ("baseline", "valid"): partial(rate, st.integers(), examples)
    }
    for name, model in MODELS.items():
        cells[name, "valid"] = partial(rate, messages(model), examples, _is(model))
        cells[name, "wire"] = partial(rate, payloads(model), examples, _is_bytes)
        cells[name, "invalid"] = partial(rate, invalid_payloads(model), invalid_examples)
    return cells


def _is_bytes(value: Any) -> bool:
    return isinstance(value, bytes)


_FLOWS = ("assignment", "command", "hook", "capability")


async def _contract_rates(examples: int) -> dict[str, tuple[float, float, float]]:
    import nats
    from hypothesis import Phase

    from pytest_mistersmith.contracts import (
        ASSIGNMENT_TO_RESULT,
        COMMAND_TO_REPLY,
        HOOK_EVENT_TO_RESPONSE,
        Contract,
        capability_contract,
        check_contract,
        check_rejects_invalid,
    )
    from simulator.protocol.topology import apply, default_topology, for_cluster
    from simulator.servers import BinaryServer, for_topology

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ of this checkout
    from tests.responders import Responder

    contracts: dict[str, Contract] = {
        "assignment": ASSIGNMENT_TO_RESULT,
        "command": COMMAND_TO_REPLY,
        "hook": HOOK_EVENT_TO_RESPONSE,
        "capability": capability_contract(1),
    }
    quick = settings(database=None, phases=[Phase.generate])
    rates: dict[str, tuple[float, float, float]] = {}
    topology = default_topology()
    with BinaryServer(for_topology(topology)) as server:
        client = await nats.connect(server.client_url)
        try:
            await apply(client.jsm(), for_cluster(topology, 1)[0])
            for flow in _FLOWS:
                contract = contracts[flow]
                row = []
                for check, variant in (
                    (check_contract, contract),
                    (check_contract, replace(contract, grace=0.01)),
                    (check_rejects_invalid, contract),
                ):
                    async with Responder(server.client_url, flow) as responder:
                        start = time.perf_counter()
                        await check(variant, client, examples=examples, settings=quick)
                        elapsed = time.perf_counter() - start
                    per_case = 2 if check is check_rejects_invalid else 1
                    row.append(responder.handled / per_case / elapsed)
                rates[contract.name] = (row[0], row[1], row[2])
        finally:
            await client.close()
    return rates


def contract_rates(examples: int) -> dict[str, tuple[float, float, float]]:
    """Cases per second of each ready-made contract: as shipped, 10 ms grace, rejects."""
    return asyncio.run(_contract_rates(examples))


def _contract_table(examples: int) -> Table:
    table = Table(title=f"Contract cases per second ({examples} examples, local responder)")
    for column in ("contract", "check_contract", "grace=0.01", "check_rejects_invalid"):
        table.add_column(column, justify="left" if column == "contract" else "right")
    for name, (default, bare, rejects) in contract_rates(examples).items():
        table.add_row(name, f"{default:,.0f}", f"{bare:,.0f}", f"{rejects:,.0f}")
    return table


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 1 if a 12.2 message misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=1500, help="examples per run")
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds (each cell's median round counts)"
    )
    parser.add_argument(
        "--invalid-examples", type=int, default=300, help="examples per invalid_payloads run"
    )
    parser.add_argument(
        "--contract-examples",
        type=int,
        default=100,
        help="examples per contract check (0: skip the contract table)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    load = os.getloadavg()[0]
    rate(messages(MODELS["AgentStatus"]), 200)  # warm up: imports, Faker, caches

    cells = _cells(args.examples, args.invalid_examples)
    rounds: list[dict[Cell, float]] = []
    for _ in range(args.repeat):  # rounds over every cell, so that a busy spell hits one run
        rounds.append({key: measure() for key, measure in cells.items()})
    median = {key: statistics.median(r[key] for r in rounds) for key in cells}
    ratio = {
        key: statistics.median(r[key] / r["baseline", "valid"] for r in rounds) for key in cells
    }

    title = f"Examples per second (median of {args.repeat} rounds of {args.examples} examples)"
    table = Table(title=title)
    for column in ("model", "messages()/s", "payloads()/s", "invalid_payloads()/s", "goal"):
        table.add_column(column, justify="left" if column == "model" else "right")
    table.add_row("st.integers() baseline", f"{median['baseline', 'valid']:,.0f}", "", "", "")
    missed = []
    for name in MODELS:
        valid, wire = (f"{median[name, c]:,.0f} ({ratio[name, c]:.2f}x)" for c in ("valid", "wire"))
        goal = ""
        if name in SPEC_12_2:
            met = min(ratio[name, "valid"], ratio[name, "wire"]) >= GOAL_RATIO
            goal = "[green]met[/]" if met else "[red]missed[/]"
            if not met:
                missed.append(name)
        table.add_row(name, valid, wire, f"{median[name, 'invalid']:,.0f}", goal)
    console = Console()
    console.print(table)
    console.print(
        f"goal: each 12.2 message at least {GOAL_RATIO:g}x the st.integers() baseline of the "
        f"same round (messages() and payloads(); x is the median ratio); load average "
        f"{load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, on {os.cpu_count()} "
        f"CPUs (other work slows it)"
    )
    if missed:
        console.print(f"missed: {', '.join(missed)}")
    if args.contract_examples > 0:
        console.print(_contract_table(args.contract_examples))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
