"""The Mister Smith NATS testbed: protocol, servers and simulated agents, usable without pytest."""

from simulator.errors import MisterSmithError

__all__ = ["MisterSmithError", "__version__"]

__version__ = "0.1.0"
