"""What the commands share: argument types, the handler signature (private)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeAlias

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["Handler", "Subparsers", "fitted_table", "number", "positive_int"]

Handler = Callable[[argparse.Namespace, Console], int]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def number(kind: type[int] | type[float], low: float, *, above: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>' if above else '>='} {low:g}")
        return value

    return parse


def fitted_table(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> RenderableType:
    """A table of ``rows`` (rich markup) if it fits ``console``'s width, else the same rows
    stacked: the first cell as a heading, then one wrapped ``column: value`` line per cell.

    Nothing is cut with an ellipsis either way: a value that is too long wraps.
    """
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    if (
        console.measure(table, options=console.options.update_width(10_000)).maximum
        <= console.width
    ):
        return table
    label = max(len(c) for c in columns[1:]) + 1
    parts: list[RenderableType] = [Text(title, style="italic")]
    for row in rows:
        parts.append(Text.from_markup(f"[bold]{row[0]}[/]"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=label + 2, no_wrap=True)
        grid.add_column(overflow="fold")
        for column, cell in zip(columns[1:], row[1:], strict=True):
            grid.add_row(Text(f"  {column}:", style="dim"), Text.from_markup(cell))
        parts.append(grid)
    return Group(*parts)
