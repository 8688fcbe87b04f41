"""``hook install``: merge the bridge's hook entries into a Claude Code ``settings.json``.

Existing keys and hooks are kept as they are; an entry whose command is already there is not
added twice; the file as it was is kept beside it as ``settings.json.bak``.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import JsonValue

from simulator.bridge.claude import ANNOUNCED, ASKED, CONTEXT

__all__ = ["DEFAULT_EVENTS", "INSTALLABLE", "hook_command", "install", "settings_hooks"]

#: What ``hook install`` wires by default: the events the spec has a hook type for.
DEFAULT_EVENTS: tuple[str, ...] = (*ASKED, *ANNOUNCED)
#: Events whose hook replaces what Claude Code does itself (it creates or removes the worktree
#: the hook names): a bridge that answers with Claude Code's neutral ``{}`` would break them.
_REPLACING = frozenset({"WorktreeCreate", "WorktreeRemove"})
#: Every event ``hook install --event`` accepts.
INSTALLABLE: tuple[str, ...] = (
    *DEFAULT_EVENTS,
    *(event for event in CONTEXT if event not in _REPLACING),
)
#: Events matched by tool name get the catch-all matcher; the others have no matcher.
_TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"})


def hook_command(
    url: str, timeout: float, on_failure: str, program: str = "mistersmith-hook"
) -> str:
    """The command line Claude Code runs for each hook (``mistersmith-hook``: ``mistersmith
    hook`` with fewer imports, for a process per hook)."""
    parts = [program, "--url", url, "--timeout", f"{timeout:g}"]
    if on_failure != "deny":
        parts += ["--on-failure", on_failure]
    return shlex.join(parts)


def settings_hooks(
    command: str, timeout: float, events: Sequence[str] = DEFAULT_EVENTS
) -> dict[str, list[dict[str, JsonValue]]]:
    """The ``hooks`` entries of ``settings.json`` for ``command``, one per event of ``events``
    (each one of :data:`INSTALLABLE`; ``ValueError`` naming the first that is not).

    Claude Code's own timeout for the hook is the bridge's plus five seconds, so that the
    bridge's failure answer, not Claude Code's (which lets the call through), comes first.
    """
    for event in events:
        if event in _REPLACING:
            raise ValueError(
                f"--event {event}: its hook replaces Claude Code's own {event} (the hook must "
                "create or remove the worktree); the bridge does not bridge it"
            )
        if event not in INSTALLABLE:
            raise ValueError(f"--event {event!r}: not a Claude Code event the bridge carries")
    handler: dict[str, JsonValue] = {
        "type": "command",
        "command": command,
        "timeout": math.ceil(timeout) + 5,
    }
    entries: dict[str, list[dict[str, JsonValue]]] = {}
    for event in dict.fromkeys(events):
        entry: dict[str, JsonValue] = {"hooks": [dict(handler)]}
        if event in _TOOL_EVENTS:
            entry = {"matcher": "*", **entry}
        entries[event] = [entry]
    return entries


def install(
    settings: Path, command: str, timeout: float, events: Sequence[str] = DEFAULT_EVENTS
) -> list[str]:
    """Merge the entries for ``events`` into ``settings`` (created if missing); the changes,
    one line each."""
    wanted = settings_hooks(command, timeout, events)
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
    for event, entries in wanted.items():
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
