"""One guardian process per process that starts servers: it kills them when we die.

The guardian is a POSIX ``sh`` in a session of its own that reads server pids from a pipe
(``+pid`` to guard, ``-pid`` to forget); only this process holds the pipe's write end, so when
it dies (even by SIGKILL) the guardian reads end-of-file and SIGKILLs every pid it still
guards. It is started once, on the first guarded spawn, and costs each later spawn one write,
where ``setpriv --pdeathsig`` costs an extra exec (2-3 ms on a loaded 2-core machine) and a
``preexec_fn`` a fork() instead of a vfork(). A forked child (``os.fork``) closes its copy of
the write end, so that the guardian still sees our death.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import threading

__all__ = ["available", "forget", "guard"]

# Every pid on one line is " pid1 pid2 ... "; a removal cuts " pid " out of it.
_SCRIPT = r"""
pids=' '
while IFS= read -r line; do
  case $line in
    +*) pids="$pids${line#+} " ;;
    -*) p=${line#-}
        case $pids in *" $p "*) pids="${pids%% "$p" *} ${pids#* "$p" }" ;; esac ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
exit 0
"""

_lock = threading.Lock()
_guardian: subprocess.Popen[bytes] | None = None
_write_fd: int | None = None


def _close_in_child() -> None:
    global _guardian, _write_fd, _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _write_fd is not None:
        with contextlib.suppress(OSError):
            os.close(_write_fd)
    _guardian, _write_fd = None, None


if hasattr(os, "register_at_fork"):  # not on Windows, where no guardian runs
    os.register_at_fork(after_in_child=_close_in_child)


@atexit.register
def _stop() -> None:
    """At a normal exit: end the guardian (it kills what is still guarded) and reap it."""
    global _guardian, _write_fd
    guardian, fd = _guardian, _write_fd
    _guardian, _write_fd = None, None
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
    if guardian is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            guardian.wait(1.0)


def _start() -> int | None:
    """The write end of a running guardian's pipe (started now if needed); None without sh."""
    global _guardian, _write_fd
    if _guardian is not None and _guardian.poll() is None and _write_fd is not None:
        return _write_fd
    sh = shutil.which("sh")
    if sh is None:
        return None
    read_fd, write_fd = os.pipe()  # both close-on-exec: no other child inherits the write end
    try:
        guardian = subprocess.Popen(
            [sh, "-c", _SCRIPT],
            stdin=read_fd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to our process group does not end it first
        )
    except OSError:
        os.close(write_fd)
        return None
    finally:
        os.close(read_fd)
    if _write_fd is not None:
        with contextlib.suppress(OSError):
            os.close(_write_fd)
    _guardian, _write_fd = guardian, write_fd
    return write_fd


def available() -> bool:
    """Whether a guardian runs (started now if needed): call before a spawn to be guarded."""
    with _lock:
        return _start() is not None


def guard(pid: int) -> bool:
    """Have the guardian kill ``pid`` when this process dies; False if no guardian can run."""
    global _write_fd
    with _lock:
        for _ in range(2):  # a guardian that died (killed by hand) is replaced once
            fd = _start()
            if fd is None:
                return False
            try:
                os.write(fd, f"+{pid}\n".encode())
                return True
            except OSError:
                with contextlib.suppress(OSError):
                    os.close(fd)
                _write_fd = None
    return False


def forget(pid: int) -> None:
    """Stop guarding ``pid`` (it exited and was reaped: its number may be reused)."""
    with _lock:
        if _write_fd is not None and _guardian is not None and _guardian.poll() is None:
            with contextlib.suppress(OSError):
                os.write(_write_fd, f"-{pid}\n".encode())
