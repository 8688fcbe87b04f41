"""Hypothesis entry point: ``st.from_type`` for every message model, registered lazily.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (``[project.entry-points
.hypothesis]``). Registration needs the model classes, so this imports
``simulator.protocol.models`` (pydantic); the strategies themselves (and Faker) are imported
only when ``st.from_type`` first resolves a model.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _resolve(model: type[Any]) -> Any:
    from pytest_mistersmith.strategies import messages

    return messages(model)


def _hypothesis_setup_hook() -> None:
    """Register ``messages(Model)`` as the strategy of every model of the protocol."""
    from hypothesis import strategies as st

    from simulator.protocol import models

    every: tuple[type[Any], ...] = (*models.MODELS.values(), *models.NESTED)
    for model in every:
        st.register_type_strategy(model, _resolve)

    from pytest_mistersmith._profile import register_profile

    register_profile()
