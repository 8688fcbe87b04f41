"""Pinning a package's public names: a change to ``__all__`` is a change a test must see."""

from __future__ import annotations

from types import ModuleType


def assert_pinned(module: ModuleType, names: str) -> None:
    """``module.__all__`` is exactly the whitespace-separated ``names``, and each exists."""
    public = getattr(module, "__all__", None)
    assert public is not None, f"{module.__name__} has no __all__"
    assert sorted(public) == sorted(names.split()), f"{module.__name__}.__all__ changed"
    missing = [name for name in public if not hasattr(module, name)]
    assert not missing, f"{module.__name__} lacks {missing}"
