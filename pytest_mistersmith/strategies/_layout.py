"""How one hypothesis choice becomes the fields of a model tree (private).

An instance is made from one choice: a fixed-size byte string. Its first bytes seed the draw;
then every field of the model tree has a byte of its own (the model's fields in order, then the
bytes of each nested model). An optional field is present when its byte is odd, and each field
is made from the random stream re-seeded with the draw's seed, the field's number and its byte.
Hypothesis shrinks a byte string byte by byte, so shrinking drops every field a failure does
not need (its byte becomes 0) and varies the others one at a time, independently.
"""

from __future__ import annotations

import functools
import typing
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pytest_mistersmith.strategies import _values as v

__all__ = ["SEED_BYTES", "Ctx", "Data", "Layout", "clean", "layout", "seed_of"]

Data = dict[str, Any]

SEED_BYTES = 4
"""Bytes of the choice that seed the draw, before the fields' bytes."""


@dataclass(frozen=True)
class Layout:
    """Which byte of the choice each field uses, and where nested models' bytes start."""

    slots: Mapping[str, int]
    children: Mapping[str, tuple[int, type[BaseModel]]]
    width: int
    #: A stable number for every field (CRC-32 of ``Model.field``): it salts the field's seed.
    numbers: Mapping[str, int]


def _nested(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested(arg)
        if found is not None:
            return found
    return None


@functools.cache
def layout(model: type[BaseModel]) -> Layout:
    """The byte layout of ``model``: one byte per own field, then nested models' bytes."""
    slots = {name: i for i, name in enumerate(model.model_fields)}
    children: dict[str, tuple[int, type[BaseModel]]] = {}
    width = len(slots)
    for name, info in model.model_fields.items():
        child = _nested(info.annotation)
        if child is not None:
            children[name] = (width, child)
            width += layout(child).width
    numbers = {name: zlib.crc32(f"{model.__name__}.{name}".encode()) for name in slots}
    return Layout(slots, children, width, numbers)


def seed_of(choice: bytes) -> int:
    """The draw's seed: the first :data:`SEED_BYTES` bytes of the choice."""
    return int.from_bytes(choice[:SEED_BYTES], "big")


class Ctx:
    """What one builder sees: the value source, its bytes of the choice, the drawn overrides."""

    __slots__ = ("choice", "given", "layout", "offset", "seed", "src")

    def __init__(
        self,
        src: v.Source,
        choice: bytes,
        lay: Layout,
        given: Mapping[str, Any],
        offset: int = SEED_BYTES,
    ) -> None:
        self.src = src
        self.choice = choice
        self.seed = seed_of(choice)
        self.layout = lay
        self.given = given
        self.offset = offset

    def _byte(self, name: str) -> int:
        return self.choice[self.offset + self.layout.slots[name]]

    def _make(self, name: str, make: Callable[[], Any]) -> Any:
        salt = self.layout.numbers[name] << 8 | self._byte(name)
        self.src.rng.seed(self.seed * 0x9E3779B97F4A7C15 ^ salt)
        return make()

    def on(self, name: str) -> bool:
        """Whether the byte of field ``name`` is odd (an optional field is then present)."""
        return bool(self._byte(name) & 1)

    def req(self, name: str, make: Callable[[], Any]) -> Any:
        """The override of ``name`` if given, else a made value."""
        return self.given[name] if name in self.given else self._make(name, make)

    def opt(self, name: str, make: Callable[[], Any], *, when: bool = True) -> Any:
        """The override of ``name`` if given, else a made value if its byte is odd, else None."""
        if name in self.given:
            return self.given[name]
        return self._make(name, make) if when and self.on(name) else None

    def child(self, name: str, build: Callable[..., Data], **hints: Any) -> Data:
        """The nested object ``name`` made by ``build``, from its own bytes of the choice."""
        start, model = self.layout.children[name]
        ctx = Ctx(self.src, self.choice, layout(model), {}, self.offset + start)
        return build(ctx, **hints)


def clean(data: Data) -> Data:
    """``data`` without its None values (absent optional fields)."""
    return {key: value for key, value in data.items() if value is not None}
