"""Every name the README shows still imports: its code's import lines, and each dotted module
path it quotes (``simulator.protocol.channels``)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
_IMPORTS = sorted(
    {
        " ".join(m.split())
        for block in _BLOCKS
        for m in re.findall(r"^(?:from \S+ import (?:\([^)]*\)|.*)|import .*)$", block, re.M)
    }
)
_PATHS = sorted(set(re.findall(r"`((?:simulator|pytest_mistersmith)(?:\.\w+)+)`", README)))


def test_the_readme_has_names_to_check() -> None:
    assert len(_IMPORTS) >= 5 and len(_PATHS) >= 5


@pytest.mark.parametrize("statement", _IMPORTS)
def test_each_import_line_of_the_readme_works(statement: str) -> None:
    exec(statement, {})


@pytest.mark.parametrize("path", _PATHS)
def test_each_dotted_path_of_the_readme_resolves(path: str) -> None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            target = getattr(target, attr)
        return
    pytest.fail(f"README names {path}, which does not import")
