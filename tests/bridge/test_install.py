"""``mistersmith hook install``: the bridge's entries merged into a Claude Code settings file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main

EXISTING = {
    "model": "claude-sonnet-4-5",
    "permissions": {"deny": ["Read(./.env)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Write", "hooks": [{"type": "command", "command": "./format.sh"}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "./notify.sh"}]}],
    },
}


def test_install_keeps_every_other_key(tmp_path: Path, capsys: object) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(EXISTING))
    args = ["hook", "install", "--settings", str(settings), "--url", "nats://127.0.0.1:4222"]
    assert main(args) == 0
    merged = json.loads(settings.read_text())
    assert merged["model"] == EXISTING["model"]
    assert merged["permissions"] == EXISTING["permissions"]
    assert merged["hooks"]["Stop"] == EXISTING["hooks"]["Stop"]
    pre = merged["hooks"]["PreToolUse"]
    assert pre[0] == EXISTING["hooks"]["PreToolUse"][0]  # type: ignore[index]
    assert pre[1]["matcher"] == "*"
    (ours,) = pre[1]["hooks"]
    assert ours == {
        "type": "command",
        "command": "mistersmith-hook --url nats://127.0.0.1:4222 --timeout 5",
        "timeout": 10,
    }
    assert set(merged["hooks"]) == {
        "PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "FileChanged", "Stop"
    }  # fmt: skip
    assert json.loads((settings.parent / "settings.json.bak").read_text()) == EXISTING
    # a second run changes nothing
    assert main(args) == 0
    assert json.loads(settings.read_text()) == merged


def test_install_refuses_a_broken_file(tmp_path: Path, capsys: object) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text("{not json")
    assert main(["hook", "install", "--settings", str(settings)]) == 2
    assert settings.read_text() == "{not json"


def test_the_examples_are_what_install_writes() -> None:
    from simulator.bridge import hook_command, settings_hooks

    examples = Path(__file__).resolve().parents[2] / "examples" / "claude_code"
    command = hook_command("nats://127.0.0.1:4222", 5, "deny")
    written = json.loads((examples / "settings.json").read_text())
    assert written == {"hooks": settings_hooks(command, 5)}
    http = json.loads((examples / "settings.http.json").read_text())
    assert set(http["hooks"]) == set(written["hooks"])
    for entries in http["hooks"].values():
        (handler,) = entries[0]["hooks"]
        assert handler["type"] == "http" and handler["url"].startswith("http://127.0.0.1:")


def test_serve_refuses_a_bad_listen_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hook", "serve", "--listen", "localhost"]) == 2
    assert "--listen 'localhost': expected HOST:PORT" in capsys.readouterr().err


def test_install_wires_the_events_asked_for(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    args = ["hook", "install", "--settings", str(settings), "--event", "Stop"]
    assert main([*args, "--event", "UserPromptSubmit", "--event", "PermissionRequest"]) == 0
    hooks = json.loads(settings.read_text())["hooks"]
    assert set(hooks) == {"Stop", "UserPromptSubmit", "PermissionRequest"}
    assert "matcher" not in hooks["Stop"][0] and hooks["PermissionRequest"][0]["matcher"] == "*"


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ("WorktreeCreate", "--event WorktreeCreate: its hook replaces Claude Code's own"),
        ("PreToolUs", "--event 'PreToolUs': not a Claude Code event the bridge carries"),
    ],
)
def test_install_refuses_an_event_it_cannot_bridge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], event: str, says: str
) -> None:
    settings = tmp_path / "settings.json"
    assert main(["hook", "install", "--settings", str(settings), "--event", event]) == 2
    assert says in capsys.readouterr().err
    assert not settings.exists()


def test_every_installable_event_is_one_the_bridge_answers() -> None:
    from simulator.bridge.claude import ASKED, CONTEXT, NEUTRAL
    from simulator.bridge.install import INSTALLABLE

    assert set(INSTALLABLE) <= {*ASKED, "FileChanged", *CONTEXT}
    assert {"Stop", "UserPromptSubmit", "Notification"} <= set(INSTALLABLE) & NEUTRAL
