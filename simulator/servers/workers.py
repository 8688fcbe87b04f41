"""Local worker processes of a run (``mistersmith run --workers N``).

Each worker is ``python -m simulator worker --url URL --name NAME --run RUN`` in its own session
(a Ctrl-C in the terminal reaches only the coordinator, which drains them over NATS), with its
output in a private temporary directory, and killed when this process dies (the same guardian
or parent-death signal as our servers, Linux); a worker also stops by itself when the
coordinator's beat goes silent. Worker ``i`` connects to ``urls[i % len(urls)]``: round-robin
over a cluster's nodes. :meth:`LocalWorkers.stop` waits for them to finish, ends any left, and
removes the directory.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from simulator.servers._proc import send_signal, spawn, terminate

__all__ = ["LocalWorkers"]

_TAIL = 400


class LocalWorkers:
    """``count`` worker processes of run ``run_id``, connected round-robin to ``urls``."""

    def __init__(
        self, count: int, urls: Sequence[str], run_id: str, extra_args: Sequence[str] = ()
    ) -> None:
        if count < 1:
            raise ValueError(f"count: at least 1, not {count}")
        if not urls:
            raise ValueError("urls: at least one")
        self.names = [f"local-{i + 1}" for i in range(count)]
        self.urls = [urls[i % len(urls)] for i in range(count)]
        self.run_id = run_id
        self._extra = list(extra_args)
        self.processes: list[subprocess.Popen[bytes]] = []
        self._dir: Path | None = None

    def start(self) -> None:
        """Start every worker (they join the run by themselves)."""
        self._dir = Path(tempfile.mkdtemp(prefix="mistersmith-workers-"))
        try:
            for name, url in zip(self.names, self.urls, strict=True):
                argv = [sys.executable, "-m", "simulator", "worker", "--url", url]
                argv += ["--name", name, "--run", self.run_id, *self._extra]
                with (self._dir / f"{name}.log").open("wb") as out:
                    self.processes.append(spawn(argv, stdout=out, cwd=self._dir))
        except BaseException:
            self.stop(timeout=0)
            raise

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, in the order of :attr:`names`."""
        return [p.pid for p in self.processes]

    def output(self, name: str) -> str:
        """The last lines a worker printed."""
        if self._dir is None:
            return ""
        try:
            text = (self._dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return text[-_TAIL:]

    def failed(self) -> list[str]:
        """One line per worker that exited with an error so far."""
        out = []
        for name, process in zip(self.names, self.processes, strict=False):
            code = process.poll()
            if code not in (None, 0):
                tail = " ".join(self.output(name).split()[-40:])
                out.append(f"worker {name} exited with {code}: {tail}")
        return out

    def interrupt(self) -> None:
        """SIGINT every worker still running (each drains and reports to the coordinator)."""
        for process in self.processes:
            if process.poll() is None:
                send_signal(process.pid, signal.SIGINT)

    def stop(self, timeout: float = 10.0) -> None:
        """Wait up to ``timeout`` seconds for the workers to end; end the rest; clean up."""
        deadline = time.monotonic() + timeout
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(deadline - time.monotonic(), 0.0))
            terminate(process, graceful=True, timeout=2.0)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
