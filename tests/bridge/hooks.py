"""What the bridge's tests share: Claude Code's sample inputs, a policy responder, the bridge
run as Claude Code runs it (a process fed stdin)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from simulator.protocol.models import HookDecision, HookEvent, HookResponse

DATA = Path(__file__).parent.parent / "data" / "claude_hooks"


def sample(event: str, **changes: Any) -> dict[str, Any]:
    """The sample input of ``event`` (``tests/data/claude_hooks``), with ``changes``."""
    document: dict[str, Any] = json.loads((DATA / f"{event}.json").read_text())
    return {**document, **changes}


def tool(document: dict[str, Any], name: str, **tool_input: Any) -> dict[str, Any]:
    """``document`` for the tool ``name`` (the responder below decides by tool name)."""
    return {**document, "tool_name": name, "tool_input": tool_input or {"x": 1}}


def policy(event: HookEvent) -> HookResponse:
    """The test service: ``Read`` approved, ``Bash`` blocked, ``Edit`` modified, ``Task``
    stops the agent; anything else approved."""
    if event.tool_name == "Bash":
        return HookResponse(decision=HookDecision.BLOCK, reason="no Bash here")
    if event.tool_name == "Edit":
        return HookResponse(decision=HookDecision.APPROVE, modifications={"replace_all": False})
    if event.tool_name == "Task":
        return HookResponse.model_validate(
            {"decision": "approve", "continue": False, "stop_reason": "enough for today"}
        )
    return HookResponse(decision=HookDecision.APPROVE, reason="fine")


#: ``mistersmith hook`` and the lean ``mistersmith-hook`` (its module, as the script runs it).
ENTRIES = {
    "mistersmith hook": ("-m", "simulator", "hook"),
    "mistersmith-hook": ("-c", "import sys; from simulator.bridge.command import main; "
                         "sys.exit(main())"),
}  # fmt: skip


async def run_hook(
    url: str, stdin: bytes | dict[str, Any], *args: str, entry: str = "mistersmith-hook"
) -> tuple[int, str, str]:
    """``ENTRY --url URL ARGS`` fed ``stdin``, as Claude Code runs it: exit code, stdout,
    stderr."""
    data = stdin if isinstance(stdin, bytes) else json.dumps(stdin).encode()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *ENTRIES[entry], "--url", url, *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(data)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
