"""A client fixture's teardown: drain within a bound, then say what kept it open, and close."""

from __future__ import annotations

import asyncio
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nats.aio.client import Client

__all__ = ["DRAIN_TIMEOUT", "drain_or_warn"]

#: Seconds a client fixture's teardown waits for its drain (nats-py's own default is 30 s).
DRAIN_TIMEOUT = 2.0


def _open_subscriptions(client: Client) -> list[str]:
    # nats-py has no public list of a client's subscriptions; a drained one leaves _subs.
    described = []
    for sub in list(client._subs.values()):
        unread = sub.pending_msgs
        what = f"{sub.subject} ({unread} message{'s' if unread != 1 else ''} never read"
        if sub.subject.startswith("_INBOX."):
            what += "; an inbox: a JetStream pull subscription whose fetch() timed out, or a "
            what += "request's reply subscription"
        described.append(what + ")")
    return described


def _discard_unread(client: Client) -> None:
    for sub in list(client._subs.values()):
        queue = sub._pending_queue
        while queue is not None and not queue.empty():
            queue.get_nowait()
            queue.task_done()


async def drain_or_warn(client: Client, timeout: float, owner: str) -> None:
    """Drain ``client`` within ``timeout`` s; past it, warn naming what is open, and close."""
    if not client.is_connected:
        await client.close()
        return
    draining = asyncio.get_running_loop().create_task(client.drain())
    done, _ = await asyncio.wait({draining}, timeout=timeout)
    if draining in done:
        draining.result()
        return
    still_open = _open_subscriptions(client)
    _discard_unread(client)  # what kept each drain waiting: the drain then ends by itself
    done, _ = await asyncio.wait({draining}, timeout=timeout)
    if draining not in done:
        draining.cancel()  # nats-py's drain then flushes and closes the connection
        await asyncio.wait({draining})
    if not client.is_closed:
        await client.close()
    from pytest_mistersmith.exceptions import OpenSubscriptionWarning

    warnings.warn(
        OpenSubscriptionWarning(
            f"{owner}: the client's drain did not finish within {timeout:g} s, so it was closed; "
            f"still open: {', '.join(still_open) or 'none'}. Fix: close what the test opened "
            "before it ends (`await sub.unsubscribe()`, also on a pull subscription after a "
            f"fetch() timeout), or raise the bound: nats_client_factory(drain_timeout=...)"
        ),
        stacklevel=1,
    )
