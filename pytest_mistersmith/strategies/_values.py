"""Realistic field values, made from one seeded Faker instance per draw (private).

Every function takes the per-draw :class:`Source` (a Faker generator re-seeded from a seed that
hypothesis drew, and its ``random.Random``), so the same hypothesis choices give the same values:
examples replay, and no global random state is touched. Boundary values (minimum, maximum,
one- and 128-character ids) are over-sampled on purpose, since a PRNG alone rarely hits them.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from random import Random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "AGENT_ID_CHARS",
    "CAPABILITIES",
    "MODEL_NAMES",
    "ROLES",
    "TOOLS",
    "Source",
    "SplitMix",
    "agent_id",
    "capabilities",
    "count",
    "file_path",
    "fraction",
    "host",
    "inbox",
    "log_line",
    "megabytes",
    "percent",
    "pick_enum",
    "shifted",
    "source",
    "timestamp",
    "user_name",
    "uuid4",
]

AGENT_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
"""The 12.2 agent id alphabet (``^[a-zA-Z0-9_-]+$``)."""

ROLES = (
    "analyst",
    "coder",
    "reviewer",
    "planner",
    "tester",
    "researcher",
    "orchestrator",
    "architect",
    "debugger",
    "writer",
    "devops",
    "security",
    "analyzer",
    "optimizer",
    "synthesizer",
    "monitor",
)
MODEL_NAMES = (
    "claude-sonnet-4",
    "claude-opus-4",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "claude-haiku-4-5",
    "claude-3-7-sonnet",
    "claude-3-5-haiku",
)
TOOLS = ("Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "Task")
CAPABILITIES = (
    "python",
    "rust",
    "typescript",
    "go",
    "code_review",
    "testing",
    "refactoring",
    "documentation",
    "data_analysis",
    "web_search",
    "security_audit",
    "deployment",
    "sql",
    "git",
    "shell",
    "planning",
)
_DIRS = (
    "src",
    "src/app",
    "src/api",
    "tests",
    "lib",
    "docs",
    "scripts",
    "pkg/server",
    "crates/core",
)
_EXTENSIONS = ("py", "rs", "ts", "go", "md", "toml", "yaml", "json", "sql", "sh")
_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR")
_OFFSETS = tuple(timezone(timedelta(minutes=m)) for m in (60, 120, -300, -420, -480, 330, 540, 600))
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_SPAN_SECONDS = 3 * 365 * 86400
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


_MASK64 = (1 << 64) - 1


class SplitMix(Random):
    """A ``random.Random`` on SplitMix64: re-seeding costs ~0.2 us (Mersenne Twister: ~4 us).

    Each field of an instance re-seeds the stream (so its value does not depend on the other
    fields), which made seeding the cost that mattered. ``random()`` and ``getrandbits()`` are
    overridden; every other method (``choice``, ``randint``, ``sample``, ...) is built on them.
    """

    _state = 0

    def seed(  # type: ignore[override]  # as typeshed types random.Random.seed
        self, a: int | float | str | bytes | bytearray | None = None, version: int = 2
    ) -> None:
        """Restart the stream from ``a`` (an integer; anything else is hashed)."""
        if not isinstance(a, int):
            a = int.from_bytes(hashlib.blake2b(repr(a).encode(), digest_size=8).digest(), "big")
        self._state = a & _MASK64

    def _next(self) -> int:
        self._state = state = (self._state + 0x9E3779B97F4A7C15) & _MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self._next() >> 11) * 2.0**-53

    def getrandbits(self, k: int) -> int:
        """An integer of ``k`` random bits."""
        if k <= 64:
            return self._next() >> (64 - k) if k > 0 else 0
        bits = 0
        for _ in range((k + 63) // 64):
            bits = bits << 64 | self._next()
        return bits >> (-k % 64)

    def getstate(self) -> tuple[Any, ...]:
        """The stream's state."""
        return ("splitmix64", self._state)

    def setstate(self, state: tuple[Any, ...]) -> None:
        """Restore a state from :meth:`getstate`."""
        self._state = int(state[1])


@dataclass(frozen=True)
class Source:
    """The per-draw value source: a re-seeded Faker and its ``random.Random`` (a SplitMix)."""

    fake: Faker
    rng: SplitMix


_local = threading.local()


def source(seed: int) -> Source:
    """The value source for one draw: the thread's Faker (made once: it is slow), re-seeded."""
    src: Source | None = getattr(_local, "source", None)
    if src is None:
        from faker import Faker

        fake = Faker("en_US")
        rng = SplitMix()
        fake.random = rng  # type: ignore[attr-defined]  # Faker's stub omits this setter
        src = _local.source = Source(fake, rng)
    src.fake.seed_instance(seed)
    return src


def agent_id(src: Source, *, edges: bool = True) -> str:
    """An agent id such as ``coder-7``; now and then a 1- or 128-character one (the limits)."""
    rng = src.rng
    if edges and rng.random() < 0.04:
        return "".join(rng.choices(AGENT_ID_CHARS, k=rng.choice((1, 2, 127, 128))))
    role = rng.choice(ROLES)
    style = rng.randrange(4)
    if style == 0:
        return f"{role}-{rng.randrange(1, 100)}"
    if style == 1:
        return f"{role}_{rng.randrange(100):02d}"
    if style == 2:
        return f"agent-{rng.getrandbits(32):08x}"
    return f"claude-{role}-{rng.randrange(1, 10)}"


def uuid4(src: Source) -> str:
    """A random version-4 UUID in canonical form."""
    return str(uuid.UUID(int=src.rng.getrandbits(128), version=4))


def timestamp(src: Source) -> datetime:
    """An aware time in 2024-2026, in UTC most of the time, with or without a fraction."""
    rng = src.rng
    moment = _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    fraction = rng.random()
    if fraction < 0.3:
        moment = moment.replace(microsecond=rng.randrange(1000) * 1000)
    elif fraction < 0.5:
        moment = moment.replace(microsecond=rng.randrange(1_000_000))
    if rng.random() < 0.3:
        return moment.astimezone(rng.choice(_OFFSETS))
    return moment


def shifted(src: Source, moment: object, low: float, high: float) -> datetime:
    """``moment`` moved by ``low`` to ``high`` seconds (a fresh time if it is not a datetime)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        moment = timestamp(src)
    return moment + timedelta(seconds=src.rng.randint(int(low), int(high)))


def count(src: Source, low: int, high: int, *, huge: int | None = None) -> int:
    """An integer in ``[low, high]``, at the bounds now and then; rarely ``huge`` (no maximum)."""
    rng = src.rng
    roll = rng.random()
    if roll < 0.08:
        return low
    if roll < 0.12:
        return high
    if huge is not None and roll < 0.14:
        return huge
    return rng.randint(low, high)


def fraction(src: Source) -> float:
    """A load fraction in ``[0, 1]`` with two decimals, 0.0 and 1.0 included."""
    roll = src.rng.random()
    if roll < 0.08:
        return 0.0
    if roll < 0.16:
        return 1.0
    return round(src.rng.random(), 2)


def percent(src: Source, high: float = 100.0) -> float:
    """A percentage in ``[0, high]`` with one decimal, both bounds included."""
    roll = src.rng.random()
    if roll < 0.08:
        return 0.0
    if roll < 0.12:
        return high
    return round(src.rng.uniform(0.0, high), 1)


def megabytes(src: Source, high: float = 65536.0) -> float:
    """A size in MB: 0.0 now and then, else up to ``high`` with one decimal."""
    if src.rng.random() < 0.06:
        return 0.0
    return round(src.rng.uniform(1.0, high), 1)


def pick_enum(src: Source, values: tuple[str, ...]) -> str:
    """One of ``values``, uniformly."""
    return src.rng.choice(values)


def capabilities(src: Source, low: int = 0, high: int = 5) -> list[str]:
    """Distinct capability names (an empty list when ``low`` is 0, now and then)."""
    return src.rng.sample(CAPABILITIES, src.rng.randint(low, high))


def file_path(src: Source, ext: str | None = None) -> str:
    """A source file path such as ``/src/app/models.py`` (of any extension unless given)."""
    ext = ext or src.rng.choice(_EXTENSIONS)
    return f"/{src.rng.choice(_DIRS)}/{src.fake.file_name(extension=ext)}"


def inbox(src: Source) -> str:
    """A NATS inbox like nats-py's ``new_inbox()``: ``_INBOX.<22 base62>`` (maybe ``.<n>``)."""
    rng = src.rng
    nuid = "".join(rng.choices(_BASE62, k=22))
    return f"_INBOX.{nuid}.{rng.randrange(1, 1000)}" if rng.random() < 0.3 else f"_INBOX.{nuid}"


def log_line(src: Source) -> str:
    """One line of a running task's output: a log record, a test result, a build step."""
    rng, fake = src.rng, src.fake
    style = rng.randrange(5)
    path = file_path(src, "py" if style == 2 else None)
    if style == 0:
        return f"{rng.choice(_LEVELS)} [{rng.choice(ROLES)}] {fake.sentence(nb_words=6)}"
    if style == 1:
        verdict = rng.choice(("PASSED", "PASSED", "FAILED", "SKIPPED"))
        return f"tests/test_{fake.word()}.py::test_{fake.word()}_{fake.word()} {verdict}"
    if style == 2:
        return f'  File "{path}", line {rng.randint(1, 900)}, in {fake.word()}'
    if style == 3:
        version = f"{rng.randint(0, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        return f"Compiling {fake.word()} v{version}"
    return f"{rng.choice(('Reading', 'Writing', 'Editing', 'Searching'))} {path}"


@functools.cache
def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """First and last names from Faker, made once (Faker's name providers are slow per call)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(0)
    first = tuple(dict.fromkeys(fake.first_name().lower() for _ in range(300)))
    last = tuple(dict.fromkeys(fake.last_name().lower() for _ in range(300)))
    return first, last


def user_name(src: Source) -> str:
    """A user id such as ``jane.doe`` or ``jdoe42``."""
    first, last = _names()
    rng = src.rng
    given, family = rng.choice(first), rng.choice(last)
    if rng.random() < 0.6:
        return f"{given}.{family}"
    return f"{given[0]}{family}{rng.randrange(100)}"


def host(src: Source) -> str:
    """A host or service name such as ``worker-3.svc.cluster.local`` or ``dispatcher``."""
    rng = src.rng
    if rng.random() < 0.5:
        return rng.choice(("orchestrator", "dispatcher", "cli", "api-gateway", "scheduler"))
    domain = rng.choice(("svc.cluster.local", "internal", "example.net"))
    return f"{rng.choice(('worker', 'agent-host', 'node'))}-{rng.randrange(1, 64)}.{domain}"
