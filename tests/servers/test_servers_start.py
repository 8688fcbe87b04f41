"""One start() for every backend, one backend vocabulary, one binary lookup, one handle shape."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import simulator.servers as servers
from pytest_mistersmith import config as plugin_config
from simulator.cli import build_parser
from simulator.errors import ConfigError, ServerBinaryError, ServerError
from simulator.protocol.topology import default_topology
from simulator.servers import (
    BinaryLookup,
    BinaryServer,
    DockerServer,
    ExternalServer,
    NatsCluster,
    NatsServer,
    NatsServerBinary,
    _locate,
    find_nats_server,
    start,
)
from simulator.servers._locate import resolve_binary
from simulator.servers.backend import (
    BACKENDS,
    CLUSTER_BACKENDS,
    RUN_BACKENDS,
    SERVER_BACKENDS,
    node_backend,
)
from simulator.servers.start import describe_backend

SERVERS_DIR = Path(servers.__file__).parent


@pytest.fixture(scope="module")
def started() -> Iterator[servers.Started]:
    """A binary server started by start() with our topology applied."""
    result = start("binary", apply=True)
    with result.server:
        yield result


# -- start() ------------------------------------------------------------------------------
def test_start_binary_applies_the_topology_clamped_to_one_node(started: servers.Started) -> None:
    server = started.server
    assert isinstance(server, BinaryServer) and server.running
    assert started.applied is not None
    assert {c.name for c in started.applied.changes} >= {
        str(s.name) for s in default_topology().streams
    }
    assert all((s.num_replicas or 1) == 1 for s in started.topology.streams)
    assert started.notes and all("clamped to 1" in note for note in started.notes)
    assert started.info == {
        "backend": "binary",
        "client_url": server.client_url,
        "version": server.version,
    }


def test_start_external_waits_and_never_applies(started: servers.Started) -> None:
    result = start("external", url=started.server.client_url, apply=True, start_timeout=5)
    assert isinstance(result.server, ExternalServer)
    assert result.applied is None and result.notes == ()
    assert result.server.start_timeout == 5
    assert result.info["backend"] == "external"


def test_start_refuses_an_unknown_backend_and_external_without_url() -> None:
    with pytest.raises(ConfigError, match="'nope' is not one of binary, docker, external, cluster"):
        start("nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs the server's URL"):
        start("external")


def test_start_binary_without_apply_sizes_for_the_topology_file(tmp_path: Path) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text("streams:\n  scratch:\n    subjects: ['scratch.>']\n    storage: memory\n")
    result = start("binary", topology, overrides={"max_connections": 64})
    with result.server as server:
        assert result.applied is None
        assert [s.name for s in result.topology.streams] == ["scratch"]
        assert isinstance(server, BinaryServer)
        assert server.config.max_connections == 64
    assert not server.running


# -- the backend vocabulary -----------------------------------------------------------------
def test_every_spelling_of_the_backends_is_the_vocabulary() -> None:
    assert plugin_config.BACKENDS == SERVER_BACKENDS == typing.get_args(servers.ServerBackend)
    assert set(SERVER_BACKENDS) | set(RUN_BACKENDS) == set(BACKENDS)
    assert set(CLUSTER_BACKENDS) <= set(SERVER_BACKENDS) & set(RUN_BACKENDS)
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    backend = next(a for a in run._actions if a.dest == "backend")
    assert tuple(backend.choices or ()) == RUN_BACKENDS
    assert [node_backend(b) for b in BACKENDS] == ["binary", "docker", "binary", "binary"]


def test_describe_backend_says_what_start_would_use() -> None:
    binary = find_nats_server()
    assert describe_backend("external", url="nats://h:1") == "url nats://h:1"
    assert describe_backend("docker", image="nats:9") == "image nats:9"
    assert describe_backend("docker").startswith("image nats:VERSION if cached")
    assert describe_backend("binary", binary=binary) == f"{binary.path} (v{binary.version})"


# -- the binary lookup ---------------------------------------------------------------------
def test_a_lookup_reads_the_environment_once_and_finds_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    usable = find_nats_server().path
    monkeypatch.setenv("NATS_SERVER_BIN", str(tmp_path / "missing"))
    stale = BinaryLookup.read()
    monkeypatch.setenv("NATS_SERVER_BIN", str(usable))
    with pytest.raises(ServerBinaryError, match="NATS_SERVER_BIN environment variable"):
        stale.find()  # the value read, not the one set since
    calls: list[tuple[object, ...]] = []

    def counting(*args: Any) -> NatsServerBinary:
        calls.append(args)
        return find_nats_server(*args)

    monkeypatch.setattr(_locate, "find_nats_server", counting)
    lookup = BinaryLookup.read()
    assert lookup.find() is lookup.find() is resolve_binary(lookup)
    assert len(calls) == 1


def test_a_lookup_names_the_explicit_binary_first(tmp_path: Path) -> None:
    lookup = BinaryLookup.read(tmp_path / "nats-server", configured="also-missing", environ={})
    assert lookup == BinaryLookup(str(tmp_path / "nats-server"), "also-missing", None, "")
    with pytest.raises(ServerBinaryError, match="binary argument"):
        lookup.find()


# -- one handle shape ----------------------------------------------------------------------
def test_every_handle_is_a_nats_server_with_one_repr_and_context_manager() -> None:
    handles: list[NatsServer] = [
        BinaryServer(),
        DockerServer(name="mistersmith-nats-never-started", image="nats:0"),
        ExternalServer("nats://127.0.0.1:4222"),
        NatsCluster(3),
    ]
    assert [repr(h) for h in handles] == [
        "<BinaryServer not started pid=None running=False>",
        "<DockerServer mistersmith-nats-never-started not started>",
        "<ExternalServer nats://127.0.0.1:4222>",
        "<NatsCluster binary x3 >",
    ]
    assert not any(h.started for h in handles)
    assert [h.log_tail() for h in handles[2:3]] == [""]
    with pytest.raises(ServerError, match="client_url is not known before start"):
        _ = handles[0].client_url


def test_with_starts_only_what_is_not_started(started: servers.Started) -> None:
    external = ExternalServer(started.server.client_url, timeout=5)
    with external as entered:
        assert entered is external and external.started
        info = external.info
        with external:  # started: not waited for again
            assert external.info is info


# -- no import circle, a cheap import --------------------------------------------------------
def _imports(path: Path) -> set[str]:
    """The simulator.servers modules ``path`` imports, anywhere in it (lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("simulator.servers")}


def _module(path: Path) -> str:
    parts = path.relative_to(SERVERS_DIR.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_servers_package_imports_without_a_circle() -> None:
    graph = {_module(p): _imports(p) for p in SERVERS_DIR.rglob("*.py")}
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    # the package __init__s re-export: a module inside importing its own package is a circle
    for module, deps in graph.items():
        assert "simulator.servers" not in deps, f"{module} imports the package it is in"
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in graph[module]:
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_importing_the_servers_loads_neither_nats_nor_the_protocol() -> None:
    code = (
        "import sys, simulator.servers; print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'nats', 'pydantic', 'yaml', 'docker', 'testcontainers'}), "
        "'simulator.protocol' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] False"
