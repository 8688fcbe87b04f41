"""`python -m simulator run ...` as a child process, the way a user starts it (shared helpers)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

RUN_TIMEOUT = 90.0


def run_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a run: temp files under ``tmp``, no bytecode written."""
    return {**os.environ, "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", **extra}


@contextlib.contextmanager
def running(args: list[str], tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start ``mistersmith run ARGS``, output to a file; yield once it says "running".

    The process and its output file are yielded; one still alive after the block is killed.
    """
    out = tmp / "out.txt"
    with out.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "run", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=run_env(tmp),
        )
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while "running " not in out.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, out.read_text()
                time.sleep(0.05)
            yield process, out
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_cli(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """``mistersmith run ARGS`` to its end: exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "simulator", "run", *args],
        capture_output=True,
        text=True,
        env=run_env(tmp),
        timeout=RUN_TIMEOUT,
        check=False,
    )
