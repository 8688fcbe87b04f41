"""Every package's ``__all__`` lists exactly its public names (pinned, as httpx does)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "simulator",
    "simulator.protocol",
    "simulator.servers",
    "simulator.agents",
    "simulator.bridge",
    "simulator.swarm.workers",
    "simulator.faults",
    "pytest_mistersmith",
    "pytest_mistersmith.factories",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    public = {  # dir(): a lazy package (PEP 562) lists the names it has not imported yet
        attr
        for attr in dir(module)
        if not attr.startswith("_")
        and not isinstance(getattr(module, attr), types.ModuleType)
        and attr not in {"annotations"}
    }
    assert exported == public | ({"__version__"} & exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"


def test_importing_the_plugin_is_cheap() -> None:
    """pytest imports the plugin in every run: no nats-py, docker or simulator until needed."""
    import subprocess
    import sys

    code = (
        "import sys, pytest_mistersmith.plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'nats', 'simulator', 'testcontainers', 'docker', 'pydantic', 'hypothesis'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
