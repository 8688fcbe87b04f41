"""Example test files and conftests that the plugin tests run as inner pytest sessions.

No file here is named ``test_*.py`` or ``conftest.py``: the outer session must not collect
them. :func:`example` reads one, for ``pytester.makepyfile`` / ``makeconftest``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXAMPLES", "FAST", "example", "ini"]

EXAMPLES = Path(__file__).parent

#: Leave out plugins the inner sessions do not use: faker's and hypothesis' pytest plugins
#: cost about a second of start-up per inner run. The outer suite runs with them loaded.
FAST = ("-p", "no:faker", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def example(name: str) -> str:
    """The text of the example file ``name``."""
    return (EXAMPLES / name).read_text()


def ini(**keys: str) -> str:
    """A ``tox.ini`` ``[pytest]`` section as strict as ours, plus ``keys``."""
    lines = [
        "[pytest]",
        "asyncio_default_fixture_loop_scope = function",
        "addopts = --strict-markers --strict-config",
        "filterwarnings =",
        "    error",
    ]
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"
