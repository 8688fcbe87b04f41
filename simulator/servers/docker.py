"""The same nats-server in a Docker container, through testcontainers (imported lazily).

The rendered configuration is written to a host dir of the handle's (0700, removed by
``stop()``), which the container mounts read-only at ``/mistersmith``: no copy into the
container, and ``reload_credentials()`` rewrites the file in place. The JetStream store is a
named volume, so ``restart()`` and a start after ``kill()`` keep it. Ports are published on
127.0.0.1 at ports picked at creation. Readiness is ``/healthz?js-enabled-only=true`` polled
through the mapped monitoring port (a mapped port accepts TCP before the server inside
listens). testcontainers creates and starts the container (the store volume made with it); the
other calls on its way (a start after kill, remove) go through one docker SDK client per
process, not a ``docker`` CLI process each (see ``_docker_cli.engine``). Containers
carry their session's labels; stale ones of dead sessions are removed at the first start of a
session (see ``_docker_cli``), since testcontainers' Ryuk cannot be pulled offline.

A secured server (``security=``) gets its credentials and certificates made on the host (a
temp dir removed by ``stop()``); the files the server reads (CA, certificate, key) are copied
beside the configuration, the container reads them under ``/mistersmith/credentials``. The
server certificate names ``localhost`` and ``127.0.0.1``: clients reach the container through
its published loopback port. The engine must see the host's files (a local engine, as the
loopback ports already require).
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from simulator.errors import ServerError, ServerStartError
from simulator.servers._docker_cli import (
    docker,
    docker_ok,
    engine,
    host_port,
    labels,
    scratch_dir,
    sweep_stale,
)
from simulator.servers._docker_failure import start_failure
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers._ports import free_ports
from simulator.servers.base import ProcessServer, require_started
from simulator.servers.conf import ServerConfig, render
from simulator.servers.health import HEALTHZ, HEALTHZ_JS, POLL_INTERVAL, get_json, wait_healthy

if TYPE_CHECKING:
    from simulator.servers.security import Security

__all__ = ["CLIENT_PORT", "CLUSTER_PORT", "MONITOR_PORT", "DockerServer"]

CLIENT_PORT = 4222
MONITOR_PORT = 8222
CLUSTER_PORT = 6222
#: The host dir of a container's configuration and credentials, mounted read-only here.
_FILES = PurePosixPath("/mistersmith")
_CONF = _FILES / "nats.conf"
_PORT_ATTEMPTS = 3
_STORE = Path("/data")
_CREDENTIALS = _FILES / "credentials"


class DockerServer(ProcessServer):
    """One nats-server container; the handle of :class:`BinaryServer`, a context manager.

    Without ``image``, the image is :func:`~simulator.servers.image.default_image` of the
    version of ``binary`` (default: the nats-server found as :func:`find_nats_server` does).
    ``security`` secures it as it does a :class:`BinaryServer` (see the module).
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        image: str | None = None,
        name: str | None = None,
        network: str | None = None,
        aliases: tuple[str, ...] = (),
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        binary: BinaryArg = None,
        security: Security | None = None,
    ) -> None:
        self._given = ServerConfig() if config is None else config
        self.security = security
        self._material_dir: Path | None = None
        self._image = image
        self._binary = binary
        self.name = name or f"mistersmith-nats-{uuid.uuid4().hex[:10]}"
        self._network = network
        self._aliases = aliases
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._container: Any = None
        self._id: str | None = None
        self._client_url: str | None = None
        self._monitor_url: str | None = None
        self._running = False
        self._version: str | None = None
        self._published: tuple[int, int] | None = None
        self._files_dir: Path | None = None

    # -- surface ------------------------------------------------------------------------
    @property
    def image(self) -> str:
        """The image in use (default: see :func:`simulator.servers.image.default_image`)."""
        if self._image is None:
            from simulator.servers.image import default_image

            self._image = default_image(self.version, binary=self._binary)
        return self._image

    @property
    def version(self) -> str:
        """The server version: the container's once started, else the binary's (see above)."""
        if self._version is None:
            if not self._running:
                return resolve_binary(self._binary).version
            self._version = str(get_json(f"{self.monitor_url}/varz")["version"])
        return self._version

    @property
    def config(self) -> ServerConfig:
        """The configuration given (ports and store are the container's own)."""
        return self._given

    @property
    def container_config(self) -> ServerConfig:
        """The configuration rendered into the container."""
        cluster = self._given.cluster
        material = self._given.security
        if cluster is not None:
            cluster = replace(cluster, host="0.0.0.0", port=CLUSTER_PORT)
        return replace(
            self._given,
            host="0.0.0.0",
            port=CLIENT_PORT,
            http_host="0.0.0.0",
            http_port=MONITOR_PORT,
            store_dir=_STORE,
            cluster=cluster,
            security=None if material is None else material.relocated(_CREDENTIALS),
        )

    @property
    def container_id(self) -> str:
        """The container's id."""
        return require_started(self._id, "container_id")

    @property
    def volume(self) -> str:
        """The named volume holding the JetStream store."""
        return f"{self.name}-store"

    @property
    def running(self) -> bool:
        """Whether the container runs (a paused one does)."""
        return self._running

    @property
    def started(self) -> bool:
        """Whether the container runs (``with`` starts it again after a kill)."""
        return self._running

    def logs(self) -> str:
        """The container's log (stdout and stderr)."""
        if self._id is None:
            return ""
        result = docker("logs", self._id, timeout=30)
        return result.stdout + result.stderr

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the container's log."""
        return "\n".join(self.logs().splitlines()[-lines:])

    def log_since(self, since: float) -> list[str]:
        """The lines logged at or after ``since`` (a ``time.time()``): ``docker logs --since``."""
        if self._id is None:
            return []
        result = docker("logs", "--since", f"{since:.6f}", self._id, timeout=30)
        return (result.stdout + result.stderr).splitlines()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> DockerServer:
        """Create and start the container (or start it again after kill); wait until healthy."""
        if self._running:
            raise ServerError(f"container {self.name} already running; stop() it first")
        deadline = self.deadline()
        if self._id is None:
            try:
                self._prepare()
                self._launch()
            except BaseException:
                self._discard()
                raise
        else:
            try:
                engine().api.start(self.container_id)
            except Exception as exc:
                said = " ".join(str(exc).split())[:300]
                raise ServerError(f"cannot start container {self.name} again: {said}") from None
        self._running = True
        self._wait(deadline)
        return self

    def _prepare(self) -> None:
        """The credentials and the host dir the container mounts."""
        sweep_stale()
        self._secure()
        self._files_dir = scratch_dir()
        material = self._given.security
        if material is not None:
            (self._files_dir / "credentials").mkdir(mode=0o700)
            for path in material.server_files():
                target = self._files_dir / "credentials" / path.name
                shutil.copyfile(path, target)
                target.chmod(0o600)
        self._write_conf()

    def _write_conf(self) -> None:
        conf = require_started(self._files_dir, "files") / _CONF.name
        conf.touch(mode=0o600)
        conf.write_text(self.rendered())

    def _launch(self) -> None:
        """Create and start the container through testcontainers, its ports published on
        loopback at ports picked now (kept: a restart keeps the URLs); picked again when one
        was taken meanwhile."""
        from docker.types import Mount
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        testcontainers_config.ryuk_disabled = True  # no registry: our labels do its job
        extra: dict[str, Any] = {}
        if self._network is not None:
            endpoint = engine().api.create_endpoint_config(aliases=list(self._aliases))
            extra = {"network": self._network, "networking_config": {self._network: endpoint}}
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            container = (
                DockerContainer(self.image)
                .with_name(self.name)
                .with_command(["-c", str(_CONF)])
                .with_volume_mapping(str(self._files_dir), str(_FILES), "ro")
                # the engine creates the store volume with the container, labelled for the sweep
                .with_kwargs(
                    labels=labels(),
                    stop_signal="SIGTERM",
                    mounts=[Mount(str(_STORE), self.volume, type="volume", labels=labels())],
                    **extra,
                )
            )
            picked = free_ports(2)
            for port, host in zip((CLIENT_PORT, MONITOR_PORT), picked, strict=True):
                container.ports[f"{port}/tcp"] = ("127.0.0.1", host)  # type: ignore[assignment]
            self._published = (picked[0], picked[1])
            try:
                container.start()
            except Exception as exc:
                with contextlib.suppress(Exception):  # created, not started: remove it
                    engine().api.remove_container(self.name, force=True)
                if attempt < _PORT_ATTEMPTS and "already" in str(exc):
                    continue
                raise start_failure(self.image, exc, self._binary) from exc
            self._container = container.get_wrapped_container()
            self._id = str(self._container.id)
            return

    def _discard(self) -> None:
        """Remove what a container never started leaves: itself, its volume, its files."""
        self._remove()
        self._forget_material()

    def _secure(self) -> None:
        """Make the credentials and certificates of ``security`` (on the host, see the module)."""
        if self.security is None or self.security.open or self._given.security is not None:
            return
        from simulator.servers.security import make_material

        given = self._given
        self._material_dir = scratch_dir()
        try:
            self.material = make_material(
                self.security, self._material_dir / "credentials", given.account_limits
            )
        except BaseException:
            self._forget_material()
            raise
        self._given = replace(given, security=self.material)

    def _forget_material(self) -> None:
        """Remove the credentials this handle made and the dir the container mounted (on stop,
        or a failed start)."""
        if self._files_dir is not None:
            shutil.rmtree(self._files_dir, ignore_errors=True)
            self._files_dir = None
        if self._material_dir is not None:
            shutil.rmtree(self._material_dir, ignore_errors=True)
            self._material_dir = None
            self._given = replace(self._given, security=None)
            self.material = None

    def reload_credentials(self) -> None:
        """Copy the configuration with the identities added since the start into the
        container and make the server reload it (SIGHUP); wait until it has."""
        varz = f"{self.monitor_url}/varz"
        before = get_json(varz)["config_load_time"]
        self._write_conf()  # the container mounts its dir
        docker_ok("kill", "--signal", "HUP", self.container_id)
        deadline = self.deadline()
        while time.monotonic() < deadline:
            if get_json(varz)["config_load_time"] != before:
                return
            time.sleep(POLL_INTERVAL)
        raise ServerError(
            f"container {self.name} did not reload its configuration within "
            f"{self.start_timeout} s; log tail:\n{self.log_tail(10)}"
        )

    def rendered(self) -> str:
        """The config file text copied into the container."""
        return render(self.container_config)

    def refresh_urls(self) -> None:
        """Set the URLs from the published ports (picked at creation, kept across restarts)."""
        if self._published is not None:
            client, monitor = self._published
            self._client_url = f"nats://127.0.0.1:{client}"
            self._monitor_url = f"http://127.0.0.1:{monitor}"
            return
        self._client_url = f"nats://127.0.0.1:{host_port(self.container_id, CLIENT_PORT)}"
        self._monitor_url = f"http://127.0.0.1:{host_port(self.container_id, MONITOR_PORT)}"

    def _wait(self, deadline: float) -> None:
        try:
            self.refresh_urls()
            path = HEALTHZ_JS if self._given.jetstream else HEALTHZ
            wait_healthy(self.monitor_url, deadline, path=path)
        except ServerError as exc:
            tail = self.log_tail()
            raise ServerStartError(
                f"container {self.name} ({self.image}) was not ready within {self.start_timeout}"
                f" s: {exc}. Fix: raise start_timeout, check the log below.\n"
                f"--- last lines of the container log ---\n{tail}",
                timeout=self.start_timeout,
                log_tail=tail,
            ) from None

    def stop(self) -> None:
        """Stop and remove the container, its store volume and the credentials it was given."""
        self._remove()
        self._forget_material()

    def kill(self) -> None:
        """``docker kill`` (a crash); the container and its store stay for start()."""
        if self._running:
            docker("kill", self.container_id, timeout=30)
            self._running = False

    def halt(self) -> None:
        """``docker stop`` (SIGTERM, then SIGKILL): the container and its store stay for start()."""
        if self._running:
            docker_ok("stop", "-t", str(int(self.stop_timeout)), self.container_id)
            self._running = False

    def restart(self, *, graceful: bool = True) -> None:
        """Stop (or kill) the container and start it again on its store volume."""
        if graceful:
            self.halt()
        self.kill()
        self.start()

    def pause(self) -> None:
        """``docker pause``: the server freezes; connections stay open, nothing answers."""
        docker_ok("pause", self.container_id)

    def resume(self) -> None:
        """``docker unpause``."""
        docker_ok("unpause", self.container_id)

    def _remove(self, *, keep_volume: bool = False) -> None:
        ident = self._id or (self.name if self._container is not None else None)
        if ident is None and self._files_dir is None:
            return
        client = engine()
        if ident is not None:
            with contextlib.suppress(Exception):  # gone already: nothing left to remove
                client.api.remove_container(ident, force=True, v=True)
        if not keep_volume:
            with contextlib.suppress(Exception):
                client.api.remove_volume(self.volume, force=True)
        self._id = None
        self._container = None
        self._running = False

    def _describe(self) -> str:
        return f"{self.name} {self._client_url or 'not started'}"
