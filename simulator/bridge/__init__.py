"""The Claude Code hook bridge: a real Claude Code's hooks drive the spec's hook flow over NATS.

* :func:`run_hook` (``mistersmith hook``): the ``command`` hook, one process per call;
* :class:`HookServer` (``mistersmith hook serve``): the ``http`` hook, one long-running service;
* :func:`install` (``mistersmith hook install``): the entries merged into ``settings.json``;
* :class:`Recorder` / :func:`replay` (``--record``, ``mistersmith hook replay``): sessions kept
  as JSONL and fed back, paced, fanned out to many agents.

Both hook types share :class:`HookBridge` and the mapping of :mod:`simulator.bridge.claude`
(spec-notes 27), and fail closed: what the bridge cannot carry is denied unless
``on_failure="allow"``.
"""

from simulator.bridge.claude import Answer, BridgeError, ClaudeInput, OnFailure
from simulator.bridge.command import answer_hook, run_hook
from simulator.bridge.core import BridgeConfig, HookBridge
from simulator.bridge.http import HookServer
from simulator.bridge.install import hook_command, install, settings_hooks
from simulator.bridge.record import Record, Recorder, read_records, replay

__all__ = [
    "Answer",
    "BridgeConfig",
    "BridgeError",
    "ClaudeInput",
    "HookBridge",
    "HookServer",
    "OnFailure",
    "Record",
    "Recorder",
    "answer_hook",
    "hook_command",
    "install",
    "read_records",
    "replay",
    "run_hook",
    "settings_hooks",
]
