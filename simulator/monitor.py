"""Moved to :mod:`simulator.swarm.monitor`; this module keeps the old import path working."""

from simulator.swarm.monitor import *  # noqa: F403
from simulator.swarm.monitor import __all__ as __all__
