"""The ``command`` hook: one Claude Code hook per process, stdin in, stdout/stderr and exit out.

:func:`run_hook` reads at most ``max_input + 1`` bytes of stdin, bridges it within the timeout
and writes the answer: stdout JSON and exit 0, or one stderr line and exit 2 (Claude Code blocks
on 2). It never exits 1: any other exit code would be a non-blocking error to Claude Code, which
lets the tool call through (spec-notes 27).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from simulator.bridge.claude import Answer, failure_answer
from simulator.bridge.core import BridgeConfig, HookBridge
from simulator.bridge.record import Recorder

__all__ = ["answer_hook", "main", "run_hook"]


async def answer_hook(raw: bytes, config: BridgeConfig, record: Path | None = None) -> Answer:
    """The answer to one hook input through a bridge of its own (connected, then closed)."""
    recorder = Recorder(record) if record is not None else None
    bridge = HookBridge(config, recorder)
    try:
        return await bridge.handle(raw)
    finally:
        try:
            await bridge.close()
        finally:
            if recorder is not None:
                recorder.close()


def run_hook(
    config: BridgeConfig,
    *,
    record: Path | None = None,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the ``command`` hook on ``stdin``; write the answer; return the exit code (0 or 2)."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    # One line on stderr: asyncio's own warnings (TLS teardown) would add more.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        source = sys.stdin.buffer if stdin is None else stdin
        raw = source.read(config.max_input + 1)
        answer = asyncio.run(answer_hook(raw, config, record))
    except BaseException as error:  # fail closed even here (KeyboardInterrupt included)
        answer = failure_answer("", f"{type(error).__name__}: {error}", config.on_failure)
    if answer.message:
        print(answer.message, file=err)
    text = answer.stdout()
    if text:
        print(text, file=out)
    return answer.exit_code


def main(argv: Sequence[str] | None = None, prog: str = "mistersmith-hook") -> int:
    """``mistersmith-hook`` (and ``mistersmith hook`` without an action): the ``command`` hook
    without the rest of the ``mistersmith`` command (fewer imports per call: Claude Code starts
    one process per hook).

    A usage error exits 2 (argparse's own code), which Claude Code takes as a block.
    """
    import argparse
    import os

    from simulator.bridge.options import add_options, bridge_config

    # A process that validates four messages: pydantic's scan of every installed distribution
    # for plugins costs more than the rest of its validation (the user's setting wins).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    parser = argparse.ArgumentParser(
        prog=prog, description="The Claude Code command hook bridge (stdin JSON)."
    )
    add_options(parser)
    args = parser.parse_args(argv)
    return run_hook(bridge_config(args), record=getattr(args, "record", None))
