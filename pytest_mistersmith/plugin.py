"""pytest11 entry point of pytest-mistersmith.

Importing this module must stay cheap: no docker, testcontainers or simulator import here
until a fixture needs it, since pytest imports every installed plugin at start-up.
"""

from __future__ import annotations

__all__: list[str] = []
