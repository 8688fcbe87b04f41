"""Realistic free-form JSON objects of the messages: tool calls, payloads, task data (private).

The spec types these fields as "any JSON object"; these look like what Claude Code and an agent
framework really send (``{"command": "ls -la"}``, ``{"file_path": "/src/app.py"}``), made from
the per-draw :class:`~pytest_mistersmith.strategies._values.Source`. They hold no ``null``, so
that a payload round-trips through ``model_dump_json(exclude_none=True)`` unchanged.
"""

from __future__ import annotations

from typing import Any

from pytest_mistersmith.strategies._values import (
    MODEL_NAMES,
    TOOLS,
    Source,
    agent_id,
    capabilities,
    count,
    file_path,
    fraction,
    log_line,
    uuid4,
)

__all__ = [
    "command_payload",
    "error_code",
    "error_message",
    "hook_reason",
    "modifications",
    "result_data",
    "stack_trace",
    "stop_reason",
    "task_data",
    "tool_input",
    "tool_response",
]

JsonObject = dict[str, Any]

_COMMANDS = (
    "ls -la",
    "git status",
    "git diff --stat",
    "pytest -q",
    "npm test",
    "cargo build --release",
    "ruff check .",
    "go test ./...",
    "make lint",
    "docker ps",
    "pip install -r requirements.txt",
    "grep -rn TODO src/",
)
_ERRORS = (
    ("E_TIMEOUT", "Tool call exceeded its timeout"),
    ("E_TOOL_FAILED", "Command exited with status 1"),
    ("E_OOM", "Worker ran out of memory"),
    ("E_RATE_LIMITED", "Model API rate limit reached, retry later"),
    ("E_INVALID_INPUT", "Task data is missing required key"),
    ("E_PERMISSION_DENIED", "Write outside the workspace was refused"),
    ("E_CONTEXT_OVERFLOW", "Prompt exceeds the model's context window"),
    ("E_NETWORK", "Connection reset by peer"),
)
_MESSAGES = dict(_ERRORS)
_FRAMES = (
    ("run_task", "result = await self.execute(task)"),
    ("execute", "output = tool.invoke(**task.input)"),
    ("invoke", "return self._client.request(payload, timeout=self.timeout)"),
    ("request", "response = await self._session.post(url, json=payload)"),
    ("load_config", "data = yaml.safe_load(path.read_text())"),
    ("handle", "raise ToolError(message) from exc"),
    ("__call__", "return self.func(*args, **kwargs)"),
)
_EXCEPTIONS = ("TimeoutError", "RuntimeError", "ValueError", "PermissionError", "KeyError")
_BLOCK_REASONS = (
    "Command matches the deny list: rm -rf",
    "Writes outside the workspace are not allowed",
    "Network access is disabled for this agent",
    "Secrets must not be read from .env files",
)
_APPROVE_REASONS = (
    "Read-only tool, approved by policy",
    "Command is on the allow list",
    "Edit limited to the task's files",
)
_STOP_REASONS = (
    "Token budget exhausted",
    "User requested stop",
    "Too many consecutive tool failures",
    "Session time limit reached",
)


def tool_input(src: Source, tool: object) -> JsonObject:
    """The input Claude Code sends to ``tool`` (a generic one for an unknown tool)."""
    rng, fake = src.rng, src.fake
    path = file_path(src)
    if tool == "Bash":
        command = rng.choice(_COMMANDS) if rng.random() < 0.7 else f"cat {path}"
        out: JsonObject = {"command": command}
        if rng.random() < 0.3:
            out["timeout"] = rng.choice((30000, 120000, 600000))
        return out
    if tool == "Read":
        return {"file_path": path}
    if tool == "Write":
        return {"file_path": path, "content": fake.paragraph(nb_sentences=2)}
    if tool == "Edit":
        old, new = fake.word(), fake.word()
        return {"file_path": path, "old_string": old, "new_string": new}
    if tool == "Glob":
        return {"pattern": f"**/*.{path.rsplit('.', 1)[-1]}"}
    if tool == "Grep":
        return {"pattern": fake.word(), "path": path.rsplit("/", 1)[0]}
    if tool == "WebFetch":
        return {"url": f"https://docs.example.com/{fake.word()}", "prompt": fake.sentence()}
    if tool == "WebSearch":
        return {"query": fake.sentence(nb_words=4).rstrip(".")}
    return {"description": fake.sentence(nb_words=5), "prompt": fake.sentence()}


def tool_response(src: Source, tool: object) -> JsonObject:
    """What a tool returned (as a post-task hook sees it)."""
    rng = src.rng
    if tool == "Bash":
        failed = rng.random() < 0.2
        return {
            "stdout": "" if failed else log_line(src),
            "stderr": log_line(src) if failed else "",
            "interrupted": False,
        }
    if tool in ("Write", "Edit"):
        return {"filePath": file_path(src), "success": rng.random() < 0.9}
    if tool == "Read":
        return {"content": src.fake.paragraph(nb_sentences=3), "lines": rng.randint(1, 400)}
    return {"result": src.fake.sentence(), "duration_ms": count(src, 0, 30000)}


def modifications(src: Source) -> JsonObject:
    """Changes a hook responder applies to ``tool_input`` (ERRATA 16)."""
    rng = src.rng
    style = rng.randrange(3)
    if style == 0:
        return {"command": f"{rng.choice(_COMMANDS)} --dry-run"}
    if style == 1:
        return {"file_path": file_path(src)}
    return {"timeout": rng.choice((10000, 60000))}


def hook_reason(src: Source, decision: object) -> str:
    """Why a hook responder decided so."""
    pool = _BLOCK_REASONS if str(decision) == "block" else _APPROVE_REASONS
    return src.rng.choice(pool)


def stop_reason(src: Source) -> str:
    """Why the agent must stop (``continue: false``)."""
    return src.rng.choice(_STOP_REASONS)


def command_payload(src: Source, command_type: object) -> JsonObject:
    """The payload of an agent command, by command type."""
    rng, fake = src.rng, src.fake
    kind = str(command_type)
    if kind == "execute":
        tool = rng.choice(TOOLS)
        return {"instruction": fake.sentence(), "tool": tool, "input": tool_input(src, tool)}
    if kind == "stop":
        return {"reason": rng.choice(_STOP_REASONS), "graceful": rng.random() < 0.7}
    if kind == "pause":
        return {"duration_ms": rng.choice((5000, 30000, 300000))}
    if kind == "resume":
        return {"checkpoint": f"ckpt-{rng.getrandbits(24):06x}"}
    return {
        "model": rng.choice(MODEL_NAMES),
        "max_tasks": rng.randint(1, 8),
        "temperature": round(rng.uniform(0.0, 1.0), 1),
        "allowed_tools": rng.sample(TOOLS, rng.randint(1, 4)),
    }


def task_data(src: Source, task_type: object) -> JsonObject:
    """The data of a task assignment, by task type."""
    rng, fake = src.rng, src.fake
    kind = str(task_type)
    if kind == "analysis":
        paths = [file_path(src) for _ in range(rng.randint(1, 3))]
        return {"paths": paths, "focus": fake.sentence(nb_words=5)}
    if kind == "synthesis":
        return {"inputs": [uuid4(src) for _ in range(rng.randint(1, 3))], "format": "markdown"}
    if kind == "execution":
        return {"command": rng.choice(_COMMANDS), "working_dir": "/workspace", "env": {"CI": "1"}}
    if kind == "validation":
        return {"target": file_path(src), "checks": rng.sample(("lint", "types", "tests"), 2)}
    return {
        "metric": rng.choice(("cpu_percent", "queue_depth", "error_rate")),
        "threshold": fraction(src),
        "interval_s": rng.choice((10, 30, 60)),
    }


def result_data(src: Source, status: object) -> JsonObject:
    """The data of a task result, by status."""
    rng = src.rng
    kind = str(status)
    if kind == "completed":
        return {
            "summary": src.fake.sentence(),
            "files_changed": [file_path(src) for _ in range(rng.randint(0, 3))],
            "tests_passed": count(src, 0, 500),
        }
    if kind == "failed":
        return {"exit_code": rng.choice((1, 2, 127, 137)), "stderr": log_line(src)}
    if kind == "cancelled":
        return {"cancelled_by": agent_id(src, edges=False)}
    return {"elapsed_ms": count(src, 1000, 3_600_000), "partial": capabilities(src, 0, 2)}


def error_code(src: Source) -> str:
    """An error code such as ``E_TIMEOUT``."""
    return src.rng.choice(_ERRORS)[0]


def error_message(src: Source, code: object = None) -> str:
    """A human-readable error message (the one of error ``code``, if it is a known one)."""
    message = _MESSAGES[code] if code in _MESSAGES else src.rng.choice(_ERRORS)[1]
    return f"{message}: {file_path(src)}" if src.rng.random() < 0.4 else message


def stack_trace(src: Source) -> str:
    """A Python traceback through a few realistic frames."""
    rng = src.rng
    lines = ["Traceback (most recent call last):"]
    for _ in range(rng.randint(1, 4)):
        function, statement = rng.choice(_FRAMES)
        lines.append(f'  File "{file_path(src, "py")}", line {rng.randint(1, 900)}, in {function}')
        lines.append(f"    {statement}")
    lines.append(f"{rng.choice(_EXCEPTIONS)}: {error_message(src)}")
    return "\n".join(lines)
