"""Child processes that die with us, and pid inspection helpers.

On Linux a guardian process (``_guard``: one ``sh`` reading a pipe only we write to) kills
our servers when we die; where it cannot run, PR_SET_PDEATHSIG does. PR_SET_PDEATHSIG fires
when the *thread* that forked the child exits, not the process. A server started from a
short-lived thread (``asyncio.to_thread``, a thread pool) would be killed when that thread
ends, so spawns from any thread but the main one are handed to one private daemon thread that
lives as long as the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO

import simulator.servers._guard as _guard

__all__ = [
    "PDEATHSIG_SUPPORTED",
    "alive_since",
    "cmdline",
    "pid_alive",
    "send_signal",
    "spawn",
    "start_time",
    "terminate",
    "wait_stopped",
]

_PR_SET_PDEATHSIG = 1
PDEATHSIG_SUPPORTED = sys.platform.startswith("linux")


def _prctl() -> Callable[..., int] | None:
    if not PDEATHSIG_SUPPORTED:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return function


def _make_preexec(parent_pid: int) -> Callable[[], None] | None:
    prctl = _prctl()
    if prctl is None:
        return None

    def preexec() -> None:  # runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


_Job = tuple[Callable[[], "subprocess.Popen[bytes]"], "Future[subprocess.Popen[bytes]]"]
_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _spawner_loop() -> None:
    while True:
        job, future = _jobs.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)


def _run_in_spawner(job: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(
                target=_spawner_loop, name="mistersmith-server-spawner", daemon=True
            )
            _spawner.start()
    future: Future[subprocess.Popen[bytes]] = Future()
    _jobs.put((job, future))
    return future.result()


def spawn(
    argv: Sequence[str],
    *,
    stdout: IO[bytes],
    cwd: Path,
    die_with_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session, output to ``stdout``, killed when we die (Linux).

    The guardian (``_guard``) costs a spawn one pipe write. Without it, ``setpriv --pdeathsig
    KILL`` (util-linux) sets the death signal where it is installed (an extra exec, 2-3 ms): a
    ``preexec_fn`` forces fork() instead of vfork() and runs Python in the child, 2-4 ms more.
    """
    command = list(argv)
    preexec = None
    guarded = die_with_parent and PDEATHSIG_SUPPORTED
    if guarded and _guard.available():
        process = _popen(command, stdout, cwd, None)
        if not _guard.guard(process.pid):
            process.kill()
            process.wait()
            raise OSError("the guardian process that kills servers when we die is gone")
        return process
    if guarded:
        setpriv = _setpriv()
        if setpriv is not None:
            command = [setpriv, "--pdeathsig", "KILL", "--", *command]
        else:
            preexec = _make_preexec(os.getpid())

    def job() -> subprocess.Popen[bytes]:
        return _popen(command, stdout, cwd, preexec)

    if not guarded or threading.current_thread() is threading.main_thread():
        return job()
    return _run_in_spawner(job)


def _popen(
    command: list[str], stdout: IO[bytes], cwd: Path, preexec: Callable[[], None] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        start_new_session=sys.platform != "win32",
        preexec_fn=preexec,
    )


@functools.lru_cache(maxsize=1)
def _setpriv() -> str | None:
    """util-linux's setpriv, when it can set a parent-death signal."""
    return shutil.which("setpriv")


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text[text.rindex(")") + 2 :].split()


def _thread_states(pid: int) -> list[str] | None:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    states = []
    for task in tasks:
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        states.append(text[text.rindex(")") + 2])
    return states


def wait_stopped(pid: int, timeout: float = 5.0) -> bool:
    """Wait until every thread of ``pid`` is stopped (after SIGSTOP); False at the deadline.

    The kernel stops a process's threads one by one; until the last is stopped, a
    multi-threaded server such as nats-server may still answer. Where /proc is missing this
    returns True at once (nothing to observe).
    """
    deadline = time.monotonic() + timeout
    while True:
        states = _thread_states(pid)
        if states is None or all(state in "tT" for state in states):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.0005)  # polling the kernel's own state, not waiting blind


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    if pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(pid)
        return fields is not None and fields[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def alive_since(pid: int) -> tuple[bool, int | None]:
    """Whether ``pid`` is alive and its :func:`start_time`, from one read of its ``/proc`` stat."""
    if pid <= 0 or not Path("/proc/self/stat").exists():
        return pid_alive(pid), None
    fields = _proc_stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False, None
    started = fields[19] if len(fields) >= 20 else ""
    return True, int(started) if started.isdigit() else None


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to detect pid reuse."""
    fields = _proc_stat(pid)
    if fields is None or len(fields) < 20:
        return None
    with contextlib.suppress(ValueError):
        return int(fields[19])
    return None


def cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid`` (Linux ``/proc``; ``ps`` elsewhere), None if unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        raw = None
    if raw is not None:
        return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    if sys.platform == "win32":
        return None
    try:
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.split() if result.returncode == 0 and result.stdout.strip() else None


def send_signal(pid: int, signum: int) -> bool:
    """Send ``signum`` to ``pid``; False when the process is already gone."""
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def terminate(
    process: subprocess.Popen[bytes], *, graceful: bool, timeout: float, paused: bool = False
) -> None:
    """End ``process`` if it runs: SIGTERM, SIGKILL after ``timeout``; at once if not graceful.

    A ``paused`` (SIGSTOPped) process is thawed first, so that it can act on SIGTERM.
    """
    if process.poll() is not None:
        _guard.forget(process.pid)
        return
    if paused and hasattr(signal, "SIGCONT"):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
    if graceful:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    if process.returncode is None:
        process.kill()
        process.wait()
    _guard.forget(process.pid)
