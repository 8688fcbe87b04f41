"""Running a cluster's per-node calls on threads, all at once."""

from __future__ import annotations

import concurrent.futures
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["parallel", "remove_dir"]


def parallel(calls: Sequence[Callable[[], object]]) -> None:
    """Run ``calls`` on threads; re-raise the first error after all finished."""
    if not calls:
        return
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]


def remove_dir(directory: Path, keep: bool) -> None:
    """Remove ``directory`` unless ``keep`` (a cluster's finalizer)."""
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
