"""The guardian that kills our servers when we die: what it guards dies with us, nothing else."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from simulator.servers._proc import pid_alive
from tests.waits import linux_only
from tests.waits import polled as until


@contextlib.contextmanager
def killed_child(code: str) -> Iterator[dict[str, int]]:
    """Run ``code`` in a Python child, read the pids it prints, SIGKILL the child; the pids.

    Every pid still alive at the end is killed.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdin is not None
    pids: dict[str, int] = json.loads(child.stdout.readline())
    try:
        child.kill()  # SIGKILL: no atexit, no finalizer; only the guardian acts
        child.wait()
        yield pids
    finally:
        child.stdin.close()
        child.stdout.close()
        for pid in pids.values():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


# A process that starts two sleepers, guards both, forgets one, says their pids and waits.
_CHILD = """
import json, subprocess, sys
from simulator.servers import _guard
kept = subprocess.Popen(["sleep", "60"], start_new_session=True)
forgotten = subprocess.Popen(["sleep", "60"], start_new_session=True)
assert _guard.guard(kept.pid) and _guard.guard(forgotten.pid)
_guard.forget(forgotten.pid)
print(json.dumps({"kept": kept.pid, "forgotten": forgotten.pid}), flush=True)
sys.stdin.read()
"""


@linux_only
def test_a_guarded_pid_dies_with_us_and_a_forgotten_one_does_not() -> None:
    with killed_child(_CHILD) as pids:
        assert until(lambda: not pid_alive(pids["kept"]), 1.0), "the guarded pid outlived us"
        assert pid_alive(pids["forgotten"]), "a forgotten pid was killed"


# The same, with a forked child of ours that outlives us (it must not keep the pipe open).
_FORKING_CHILD = """
import json, os, subprocess, sys, time
from simulator.servers import _guard
kept = subprocess.Popen(["sleep", "60"], start_new_session=True)
assert _guard.guard(kept.pid)
forked = os.fork()
if forked == 0:
    time.sleep(30)
    os._exit(0)
print(json.dumps({"kept": kept.pid, "forked": forked}), flush=True)
sys.stdin.read()
"""


@linux_only
def test_a_forked_child_does_not_keep_the_guarded_alive() -> None:
    with killed_child(_FORKING_CHILD) as pids:
        assert pid_alive(pids["forked"])  # the fork lives on, holding no write end
        assert until(lambda: not pid_alive(pids["kept"]), 1.0), "the guarded pid outlived us"
