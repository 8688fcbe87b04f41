"""Moved to :mod:`simulator.swarm.metrics`; this module keeps the old import path working."""

from simulator.swarm.metrics import *  # noqa: F403
from simulator.swarm.metrics import __all__ as __all__
