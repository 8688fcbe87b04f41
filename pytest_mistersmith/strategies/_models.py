"""Valid instances of every message model, from one hypothesis choice each (private).

Hypothesis spends tens of microseconds per choice, so an instance is made from one: a byte
string (see ``_layout``) whose first bytes seed the per-draw Faker and whose other
bytes decide, one per field, whether an optional field is present and which value each field
gets. Shrinking works byte by byte: a shrunk example has only the fields its failure needs.
Overrides are drawn first, as the user's own strategies, and shrink as those do. Each instance
is validated once by its model (``model_validate``), so it is valid by construction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import BaseModel, ValidationError

from pytest_mistersmith.strategies import _values as v
from pytest_mistersmith.strategies._builders import BUILDERS
from pytest_mistersmith.strategies._layout import SEED_BYTES, Ctx, clean, layout, seed_of
from simulator.protocol import models as m

__all__ = ["ALL_MODELS", "SEEDS", "check_overrides", "instances"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

ALL_MODELS: tuple[type[BaseModel], ...] = (*m.MODELS.values(), *m.NESTED)
"""Every model of ``simulator.protocol.models``: the messages, then their nested objects."""

SEEDS = st.sampled_from(range(2**32))
"""Seeds of a per-draw Faker or ``random.Random``: one unweighted choice, the cheapest draw."""


def _model_names() -> str:
    return ", ".join(model.__name__ for model in ALL_MODELS)


def check_overrides(
    model: object, overrides: Mapping[str, object], caller: str
) -> dict[str, st.SearchStrategy[Any]]:
    """Validate ``model`` and the override strategies now; key them by Python field name."""
    if not (isinstance(model, type) and model in BUILDERS):
        raise InvalidArgument(
            f"{caller}() takes a model class of simulator.protocol.models, got {model!r}; "
            f"models: {_model_names()}"
        )
    fields = model.model_fields
    by_wire = {
        info.validation_alias if isinstance(info.validation_alias, str) else name: name
        for name, info in fields.items()
    }
    valid = sorted(set(fields) | set(by_wire))
    checked: dict[str, st.SearchStrategy[Any]] = {}
    for given, strategy in overrides.items():
        name = by_wire.get(given, given)
        if name not in fields:
            raise InvalidArgument(
                f"{caller}({model.__name__}, {given}=...): {model.__name__} has no field "
                f"{given!r}; valid fields: {', '.join(valid)}"
            )
        if name in checked:
            raise InvalidArgument(f"{caller}({model.__name__}): field {name!r} given twice")
        if not isinstance(strategy, st.SearchStrategy):
            raise InvalidArgument(
                f"{caller}({model.__name__}, {given}=...) must be a strategy, got "
                f"{strategy!r}; wrap a fixed value as st.just({strategy!r})"
            )
        checked[name] = strategy
    return checked


@functools.cache
def _choices(width: int) -> st.SearchStrategy[bytes]:
    """One choice: the seed's bytes, then a byte per field of the model tree."""
    return st.binary(min_size=SEED_BYTES + width, max_size=SEED_BYTES + width)


def instances(
    model: type[M],
    overrides: Mapping[str, st.SearchStrategy[Any]],
    finish: Callable[[M], T] | None = None,
) -> st.SearchStrategy[T]:
    """Valid instances of ``model``, passed through ``finish``; ``overrides`` are checked."""
    lay = layout(model)
    build = BUILDERS[model]
    choices = _choices(lay.width)

    @st.composite
    def draw_instance(draw: st.DrawFn) -> T:
        given = {name: draw(strategy) for name, strategy in overrides.items()}
        choice = draw(choices)
        data = clean(build(Ctx(v.source(seed_of(choice)), choice, lay, given)))
        try:
            instance = model.model_validate(data)
        except ValidationError as exc:
            if not overrides:
                raise
            shown = ", ".join(f"{k}={given[k]!r}" for k in overrides)
            raise InvalidArgument(
                f"overrides {shown} make an invalid {model.__name__}: {exc}"
            ) from exc
        return instance if finish is None else finish(instance)  # type: ignore[return-value]

    return draw_instance()
