"""What the commands share: argument types, the handler signature (private)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from rich.console import Console

__all__ = ["Handler", "Subparsers", "number", "positive_int"]

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
