"""The only place the simulator touches nats-py's connection internals' semantics.

For now: :func:`settle`, a flush that really waits for the commands sent before it.
"""

from __future__ import annotations

from nats.aio.client import Client

__all__ = ["settle"]


async def settle(client: Client, timeout: int = 5) -> None:
    """Return once the server has processed every command ``client`` sent before the call.

    nats-py's ``flush()`` writes its PING straight to the socket, ahead of the commands
    (SUB, PUB, UNSUB) still queued for its flusher task, so its PONG proves nothing about
    them: a subscription may not exist yet when ``flush()`` returns. While the first flush
    waits, the flusher writes the queue; the second PING follows it on the wire.
    """
    await client.flush(timeout)
    await client.flush(timeout)
