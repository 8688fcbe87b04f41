"""Drive hypothesis from inside a running event loop (private).

A user's contract test is async (pytest-asyncio) and its nats-py client lives on that loop;
nested loops are not allowed. So hypothesis runs its ``@given`` test synchronously in a worker
thread (:func:`asyncio.to_thread`), and each example runs its case on the caller's loop with
:func:`asyncio.run_coroutine_threadsafe`. Shrinking, the example database and replay work as
for any hypothesis test: the database key is the check's key (the test's node id under the
plugin) and the contract's name, not the source of this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, reproduce_failure, settings
from hypothesis import strategies as st

from pytest_mistersmith.exceptions import ContractViolation

__all__ = ["run_examples", "settings_for"]

_BLOB = re.compile(r"@reproduce_failure\((?P<args>'[^']*', b'[^']*')\)")


def settings_for(base: settings | None, examples: int | None, *, shrink: bool) -> settings:
    """The settings of one check: ``base`` (default: the loaded profile) with ``examples``.

    No deadline (a case waits on the network), one bug reported, no explain phase (it traces
    this module, not the system under test), no shrinking when ``shrink`` is false.
    """
    parent = base if base is not None else settings.default
    assert parent is not None  # hypothesis loads its default profile on import
    phases = [
        p for p in parent.phases if p is not Phase.explain and (shrink or p is not Phase.shrink)
    ]
    return settings(
        parent,
        max_examples=examples if examples is not None else parent.max_examples,
        deadline=None,
        report_multiple_bugs=False,
        phases=phases,
        suppress_health_check=[*parent.suppress_health_check, HealthCheck.too_slow],
    )


def _rewrite_notes(error: BaseException, call: str) -> None:
    """Point hypothesis' ``@reproduce_failure`` advice at the check's ``reproduce=``."""
    notes: list[str] = getattr(error, "__notes__", [])
    for i, note in enumerate(notes):
        match = _BLOB.search(note)
        if match:
            notes[i] = f"Replay this failure with {call}(..., reproduce=({match['args']}))"


def run_examples(
    name: str,
    key: str,
    strategy: st.SearchStrategy[Any],
    case: Callable[[Any], str | None],
    config: settings,
    reproduce: tuple[str, bytes] | None = None,
) -> None:
    """Run ``case`` on examples of ``strategy``; raise :class:`ContractViolation` on a failure.

    ``case`` returns None when the example passes, else its report. ``name`` is the public
    function (``check_contract``), for hypothesis' messages.
    """

    def example(payload: Any) -> None:
        report = case(payload)
        if report is not None:
            raise ContractViolation(report)

    example.__name__ = example.__qualname__ = name
    example._hypothesis_internal_add_digest = f"pytest-mistersmith {name} {key}".encode()  # type: ignore[attr-defined]
    test = config(given(strategy)(example))
    if reproduce is not None:
        test = reproduce_failure(*reproduce)(test)
    try:
        test()
    except BaseException as error:
        _rewrite_notes(error, name)
        raise
