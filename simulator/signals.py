"""SIGINT and SIGTERM for the long-running commands (``mistersmith server``, ``mistersmith run``).

One catcher for both: in its ``with`` block the signals are counted, the first one received is
kept, and waiters are woken: a thread through :meth:`StopSignals.wait`, an asyncio task through
the event that :meth:`StopSignals.bind` returns. A second signal cancels the bound task (the
drain's "Ctrl-C again"). Install from the main thread: Python delivers signals there.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

__all__ = ["STOP_SIGNALS", "StopSignals"]

#: The signals that stop a long-running command (SIGINT is Ctrl-C).
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

_Handler = Callable[[int, FrameType | None], object] | int | None


class StopSignals:
    """SIGINT/SIGTERM turned into a count, the first signal, and wake-ups, in a ``with`` block."""

    def __init__(self, signals: Sequence[signal.Signals] = STOP_SIGNALS) -> None:
        self.signals = tuple(signals)
        #: How many of the signals arrived.
        self.count = 0
        #: The first signal that arrived, or None.
        self.received: signal.Signals | None = None
        self._woken = threading.Event()
        self._previous: dict[signal.Signals, _Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task[object] | None = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.received is None:
            self.received = signal.Signals(signum)
        self._woken.set()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if self.count == 1 and self._event is not None:
            loop.call_soon_threadsafe(self._event.set)
        elif self.count > 1 and self._task is not None:
            loop.call_soon_threadsafe(self._task.cancel)

    def __enter__(self) -> StopSignals:
        self._previous = {signum: signal.signal(signum, self._handler) for signum in self.signals}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, old in self._previous.items():
            if old is not None:  # None: a handler not installed from Python, cannot restore
                signal.signal(signum, old)

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True once a signal has arrived."""
        return self._woken.wait(timeout)

    def bind(self) -> asyncio.Event:
        """Wake the running task: the returned event is set by a first signal (already set if
        one came before), and a second signal cancels the task. Call from inside the task."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._event = asyncio.Event()
        if self.count:
            self._event.set()
        return self._event
