"""Wire payloads that print short: size, head and tail (private; :class:`Payload` is public)."""

from __future__ import annotations

from typing import Any

__all__ = ["Payload"]

#: A payload longer than this prints as its size, head and tail.
SHOWN = 240
_END = 80


class Payload(bytes):
    """The bytes of a generated payload; its ``repr`` stays short however large it is.

    A failing property prints its example with ``repr``: a 10 MiB payload would fill the
    terminal (and trips hypothesis' overly-large-repr warning). Up to 240 bytes it prints as
    ``bytes`` do; beyond, as ``Payload(10485761 bytes: b'{"task_id"...' ... b'...xx"}')``.
    Everything else is ``bytes``: compare, slice, send it as any payload.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        if len(self) <= SHOWN:
            return bytes.__repr__(self)
        head, tail = bytes(self[:_END]), bytes(self[-_END:])
        return f"Payload({len(self)} bytes: {head!r} ... {tail!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis' and IPython's pretty printer: the same short form."""
        printer.text(repr(self))
