"""The examples' own test suites pass, run as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/pytest.ini"))


def test_there_are_examples() -> None:
    """The glob below finds the examples (an example without its pytest.ini would be skipped)."""
    assert "status_service" in EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_suite_passes(example: str) -> None:
    """`pytest examples/NAME` from the repository root, under the example's own pytest.ini."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"examples/{example}", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # the example's unmarked async tests pass only under its own ini (asyncio_mode = auto)
    assert re.search(r"^\d+ passed in ", output, re.MULTILINE), output
