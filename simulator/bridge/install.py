"""``hook install``: merge the bridge's hook entries into a Claude Code ``settings.json``.

Existing keys and hooks are kept as they are; an entry whose command is already there is not
added twice; the file as it was is kept beside it as ``settings.json.bak``.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
from pathlib import Path

from pydantic import JsonValue

from simulator.bridge.claude import ANNOUNCED, ASKED

__all__ = ["hook_command", "install", "settings_hooks"]

#: Events matched by tool name get the catch-all matcher; the others have no matcher.
_TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})


def hook_command(
    url: str, timeout: float, on_failure: str, program: str = "mistersmith-hook"
) -> str:
    """The command line Claude Code runs for each hook (``mistersmith-hook``: ``mistersmith
    hook`` with fewer imports, for a process per hook)."""
    parts = [program, "--url", url, "--timeout", f"{timeout:g}"]
    if on_failure != "deny":
        parts += ["--on-failure", on_failure]
    return shlex.join(parts)


def settings_hooks(command: str, timeout: float) -> dict[str, list[dict[str, JsonValue]]]:
    """The ``hooks`` entries of ``settings.json`` for ``command``, one per bridged event.

    Claude Code's own timeout for the hook is the bridge's plus five seconds, so that the
    bridge's failure answer, not Claude Code's (which lets the call through), comes first.
    """
    handler: dict[str, JsonValue] = {
        "type": "command",
        "command": command,
        "timeout": math.ceil(timeout) + 5,
    }
    entries: dict[str, list[dict[str, JsonValue]]] = {}
    for event in (*ASKED, *ANNOUNCED):
        entry: dict[str, JsonValue] = {"hooks": [dict(handler)]}
        if event in _TOOL_EVENTS:
            entry = {"matcher": "*", **entry}
        entries[event] = [entry]
    return entries


def install(settings: Path, command: str, timeout: float) -> list[str]:
    """Merge the entries into ``settings`` (created if missing); the changes, one line each."""
    document: dict[str, JsonValue] = {}
    if settings.exists():
        try:
            loaded = json.loads(settings.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"{settings}: not JSON ({error}); nothing changed") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{settings}: not a JSON object; nothing changed")
        document = loaded
    hooks = document.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError(f"{settings}: 'hooks' is not an object; nothing changed")
    changes: list[str] = []
    for event, entries in settings_hooks(command, timeout).items():
        present = hooks.setdefault(event, [])
        if not isinstance(present, list):
            raise ValueError(f"{settings}: hooks.{event} is not a list; nothing changed")
        commands = set()
        for entry in present:
            handlers = entry.get("hooks") if isinstance(entry, dict) else None
            for handler in handlers if isinstance(handlers, list) else []:
                if isinstance(handler, dict):
                    commands.add(handler.get("command"))
        if command in commands:
            continue
        present.extend(entries)
        changes.append(f"hooks.{event}: added {command}")
    if changes:
        settings.parent.mkdir(parents=True, exist_ok=True)
        if settings.exists():
            shutil.copy2(settings, settings.with_name(settings.name + ".bak"))
        settings.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return changes
