"""N nats-server nodes of either backend, routed together into one JetStream cluster.

:class:`NatsCluster` is the handle (``_cluster``); it hands a ``_plan.Plan`` to the nodes of its
backend (``_binary``: processes on loopback, ``_docker``: containers on a private network),
waits on them through ``_health`` over the ``/jsz`` views of ``_views``, and runs per-node calls
at once (``_parallel``). Nothing here imports the handle back.
"""

from __future__ import annotations

from simulator.servers.backend import ClusterBackend
from simulator.servers.cluster._cluster import NatsCluster

__all__ = ["ClusterBackend", "NatsCluster"]
