"""Moved to :mod:`simulator.swarm.dispatcher`; this module keeps the old import path working."""

from simulator.swarm.dispatcher import *  # noqa: F403
from simulator.swarm.dispatcher import __all__ as __all__
