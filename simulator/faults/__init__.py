"""Faults in a run and the history checker.

``schedule`` parses a fault SPEC (``kill:stream-leader@every 10s``); ``injector`` injects it
into a running cluster through its handle and heals at the end; ``history`` records every
JetStream publish's outcome (the bus writes it); ``readback`` reads every stream back;
``checker`` judges the history against it (lost, duplicated, unacknowledged but found, tasks'
final results, redeliveries, unavailability windows); ``session`` ties them to one run.

Only :mod:`schedule` is imported here (the scenario reads fault specs); the rest load nats-py.
"""

from __future__ import annotations

from simulator.faults.schedule import FaultSpec, check_faults, parse_duration, parse_faults

__all__ = ["FaultSpec", "check_faults", "parse_duration", "parse_faults"]
