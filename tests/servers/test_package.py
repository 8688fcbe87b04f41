"""``simulator.servers`` imports each name on first use: a submodule comes without the rest."""

from __future__ import annotations

import subprocess
import sys


def _loaded(code: str, prefixes: tuple[str, ...]) -> list[str]:
    shown = f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; {shown}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return eval(out.stdout)  # type: ignore[no-any-return]


def test_credentials_come_without_the_servers() -> None:
    heavy = ("simulator.servers.binary", "simulator.servers.docker", "simulator.servers.cluster")
    assert _loaded("import simulator.servers.credentials", heavy) == []
    assert _loaded("from simulator.servers import BinaryServer", heavy) != []


def test_a_submodule_does_not_hide_the_name_it_shares() -> None:
    import simulator.servers
    from simulator.servers.start import start as function

    module = sys.modules["simulator.servers.start"]
    assert simulator.servers.start is function is module.start
    from simulator.servers import start

    assert start is function
