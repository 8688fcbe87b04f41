"""Moved to :mod:`simulator.swarm.report`; this module keeps the old import path working."""

from simulator.swarm.report import *  # noqa: F403
from simulator.swarm.report import __all__ as __all__
