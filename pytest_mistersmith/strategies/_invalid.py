"""Invalid wire payloads, each breaking exactly one rule, and the rule they break (private).

The rules are :func:`pytest_mistersmith._rules.rules`, read from the model's own JSON Schema.
A payload is made from a valid one (``_models.instances``) by changing one field
(creating its optional parent object, empty, when absent). Bad values are chosen so that the
spec's own 12.2 schema, format checks on, rejects them too, except where only an erratum makes
them invalid; :attr:`Violation.errata` then names it. A payload too large is the valid one with
a ``padding`` string field (unknown fields are allowed) just past the model's
:func:`~pytest_mistersmith._rules.size_limit`.
"""

from __future__ import annotations

import json
from random import Random
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from pytest_mistersmith._rules import Rule, Violation, ViolationKind, rules, size_limit
from pytest_mistersmith.strategies import _bad as bad
from pytest_mistersmith.strategies._models import SEEDS, instances
from pytest_mistersmith.strategies._payload import Payload

__all__ = ["invalid_strategy"]


def _map_key(node: dict[str, Any]) -> str:
    """The key of the map ``node`` whose value is broken: its first (a dotted path can name
    it), else a new one."""
    return next((key for key in node if key and "." not in key and not key.isdigit()), "key")


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any, *, delete: bool) -> str:
    """Put ``value`` at ``path`` (or delete it), creating absent parents; the concrete path."""
    node: Any = doc
    concrete: list[str] = []
    for i, part in enumerate(path[:-1]):
        if part == "*":  # no model has an array of objects
            raise ValueError(f"cannot reach {'.'.join(path)} through an array")
        key = _map_key(node) if part == "+" else part
        concrete.append(key)
        node = node.setdefault(key, [] if path[i + 1] == "*" else {})
    last = path[-1]
    if last == "*":
        node.insert(0, value)
        return ".".join((*concrete, "0"))
    last = _map_key(node) if last == "+" else last
    if delete:
        del node[last]
    else:
        node[last] = value
    return ".".join((*concrete, last))


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _field_payload(rule: Rule, doc: dict[str, Any], rng: Random) -> tuple[bytes, Violation]:
    K = ViolationKind
    if rule.kind is K.MISSING:
        field = _set(doc, rule.path, None, delete=True)
        return _dump(doc), Violation(K.MISSING, field, f"required field {field} is missing")
    if rule.kind is K.TYPE:
        value, what = bad.wrong_type(rng, rule.schema)
        errata = None
    else:
        value, what, errata = bad.bad_value(rng, rule.kind.value, rule.schema, rule.bound)
    field = _set(doc, rule.path, value, delete=False)
    return _dump(doc), Violation(rule.kind, field, f"{field}: {what}", errata)


def _whole_payload(
    kind: ViolationKind, model: BaseModel, doc: dict[str, Any], rng: Random
) -> tuple[bytes, Violation]:
    K = ViolationKind
    valid = model.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8")
    if kind is K.NOT_JSON:
        payload, what = bad.not_json(rng, valid, doc)
    elif kind is K.NOT_OBJECT:
        payload, what = bad.not_object(rng, valid)
    elif kind is K.NOT_UTF8:
        payload, what = bad.not_utf8(rng, valid)
    else:
        limit, where = size_limit(type(model).__name__)
        payload = bad.padded(valid, limit + rng.randint(1, 1024))
        what = f"{len(payload)} bytes, over the {limit} bytes of the {where}"
    return payload, Violation(kind, None, what)


def invalid_strategy(
    model: type[BaseModel], kinds: tuple[ViolationKind, ...]
) -> st.SearchStrategy[tuple[bytes, Violation]]:
    """Invalid payloads of ``model`` breaking one rule of one of ``kinds`` (checked) each."""
    catalog = rules(model)
    by_kind = {kind: st.sampled_from(catalog[kind]) for kind in kinds}
    kind_choice = st.sampled_from(kinds)
    valid: st.SearchStrategy[BaseModel] = instances(model, {})

    @st.composite
    def draw_invalid(draw: st.DrawFn) -> tuple[bytes, Violation]:
        rule = draw(by_kind[draw(kind_choice)])
        instance = draw(valid)
        rng = Random(draw(SEEDS))
        doc = instance.model_dump(mode="json", by_alias=True, exclude_none=True)
        if rule.kind.whole_payload:
            payload, violation = _whole_payload(rule.kind, instance, doc, rng)
        else:
            payload, violation = _field_payload(rule, doc, rng)
        return Payload(payload), violation

    return draw_invalid()
