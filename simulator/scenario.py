"""Moved to :mod:`simulator.swarm.scenario`; this module keeps the old import path working."""

from simulator.swarm.scenario import *  # noqa: F403
from simulator.swarm.scenario import __all__ as __all__
