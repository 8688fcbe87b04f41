"""NATS subject tokens and patterns: validation, subset, overlap and match (no taxonomy)."""

from __future__ import annotations

import re
import string

from simulator.errors import SubjectError

__all__ = [
    "MAX_TOKEN_LENGTH",
    "is_subset",
    "matches",
    "overlaps",
    "token_problem",
    "validate_pattern",
    "validate_subject",
    "validate_token",
]

#: Longest token we build or accept (ERRATA 13 caps agent ids at 128 characters).
MAX_TOKEN_LENGTH = 128


_WHITESPACE = frozenset(string.whitespace)
#: The first character an ASCII token may not hold: '.', a wildcard, a space or a control
#: character (every ASCII whitespace is one of these). One regex search instead of a Python
#: loop per character: subjects are built and parsed for every message.
_ASCII_BAD = re.compile(r"[.*>\x00-\x20\x7f]")


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0


def token_problem(value: str, *, max_length: int | None = MAX_TOKEN_LENGTH) -> str | None:
    """Why ``value`` is not a literal subject token, or None when it is one."""
    if value == "":
        return "is empty"
    if max_length is not None and len(value) > max_length:
        return f"is {len(value)} characters long (at most {max_length})"
    if value.isascii():
        bad = _ASCII_BAD.search(value)
        if bad is None:
            return None
        value = value[bad.start() :]  # the loop below names that character
    for ch in value:
        if ch == ".":
            return "contains '.', the token separator"
        if ch in "*>":
            return f"contains the wildcard {ch!r}"
        if ch in _WHITESPACE or ch.isspace():
            return f"contains whitespace {ch!r}"
        if _is_control(ch):
            return f"contains the control character {ch!r}"
    return None


def validate_token(name: str, value: object) -> str:
    """Return ``value`` as a subject token, or raise SubjectError naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SubjectError(
            f"{name}={value!r} is not a valid subject token: expected a string or an integer"
        )
    text = str(value)
    problem = token_problem(text)
    if problem is not None:
        raise SubjectError(f"{name}={value!r} is not a valid subject token: it {problem}")
    return text


def _check(text: str, what: str, *, wildcards: bool) -> list[str]:
    if not isinstance(text, str):
        raise SubjectError(f"{what} {text!r} is not a string")
    tokens = text.split(".")
    for i, tok in enumerate(tokens):
        if wildcards and tok == "*":
            continue
        if wildcards and tok == ">":
            if i != len(tokens) - 1:
                raise SubjectError(f"{what} {text!r}: '>' may only be the last token")
            continue
        problem = token_problem(tok)
        if problem is not None:
            raise SubjectError(f"{what} {text!r}: token {i + 1} ({tok!r}) {problem}")
    return tokens


def validate_subject(subject: str) -> str:
    """Return ``subject`` if it is a valid publish subject (no wildcards), else raise."""
    _check(subject, "subject", wildcards=False)
    return subject


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid subscription subject (wildcards allowed), else raise."""
    _check(pattern, "pattern", wildcards=True)
    return pattern


def is_subset(narrow: str, wide: str) -> bool:
    """Whether every subject that pattern ``narrow`` matches is matched by pattern ``wide``."""
    tn = _check(narrow, "pattern", wildcards=True)
    tw = _check(wide, "pattern", wildcards=True)
    for i, w in enumerate(tw):
        if w == ">":
            return len(tn) > i
        if i >= len(tn):
            return False
        n = tn[i]
        if n == ">" or (w != "*" and n != w):
            return False
    return len(tn) == len(tw)


def overlaps(a: str, b: str) -> bool:
    """Whether some subject is matched by both patterns ``a`` and ``b``."""
    ta = _check(a, "pattern", wildcards=True)
    tb = _check(b, "pattern", wildcards=True)
    for x, y in zip(ta, tb, strict=False):
        if x == ">" or y == ">":
            return True
        if x != y and x != "*" and y != "*":
            return False
    return len(ta) == len(tb)


def matches(pattern: str, subject: str) -> bool:
    """Whether ``subject`` is delivered to a subscription on ``pattern`` (NATS wildcards)."""
    validate_subject(subject)
    return is_subset(subject, pattern)
