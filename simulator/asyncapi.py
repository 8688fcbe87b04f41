"""The transport as an AsyncAPI 3.0 document: channels, messages, operations, JetStream.

* Every subject template of the taxonomy (:data:`~simulator.protocol.subjects.TEMPLATES`) is a
  channel, its ``{parameters}`` AsyncAPI channel parameters (enums where ERRATA 9 closes them).
* Messages carry the models' JSON Schemas (:func:`~simulator.protocol.models.json_schemas`),
  their ``$defs`` hoisted into ``components.schemas``.
* Every channel of the catalogue (:data:`~simulator.protocol.channels.CHANNELS`) carries its
  payload model. Operations are seen from an agent: it *receives* commands, tasks, capability
  queries and hook responses, and *sends* status, progress, results and hook events
  (:data:`USAGES`, derived from the channels' publisher and subscriber roles). Templates
  used with core request-reply (ERRATA 10) get a ``reply`` on the dynamic ``reply_inbox``
  channel, addressed by the payload's ``reply_to`` where the message has one.
* The JetStream topology of :func:`~simulator.protocol.topology.default_topology` is stated
  as extensions: ``x-jetstream-streams`` and ``x-jetstream-consumers`` at the root (as the
  JetStream API takes them: durations in nanoseconds), and per channel ``x-jetstream-stream``
  and ``x-jetstream-consumers`` when a stream stores its subjects.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from simulator import __version__
from simulator.errors import ConfigError
from simulator.protocol import channels, models, subjects
from simulator.protocol.channels import CHANNELS, Role
from simulator.protocol.topology import Topology, default_topology

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "ASYNCAPI_VERSION",
    "REPLY_CHANNEL",
    "USAGES",
    "Usage",
    "build_asyncapi",
    "stream_of",
    "usages_of",
    "write_asyncapi",
]

ASYNCAPI_VERSION = "3.0.0"
REPLY_CHANNEL = "reply_inbox"
"""The channel of replies to core requests: a NATS inbox, or the payload's ``reply_to``."""


@dataclass(frozen=True)
class Usage:
    """One message on one subject template, sent or received by an agent."""

    template: str
    message: str
    action: Literal["send", "receive"]
    #: The model name of the reply, for request-reply templates (None: not specified).
    reply: str | None = None


USAGES: tuple[Usage, ...] = tuple(
    Usage(
        c.name,
        c.payload.__name__,
        "send" if Role.AGENT in c.publishers else "receive",
        None if c.reply is None else c.reply.__name__,
    )
    for c in CHANNELS
    if Role.AGENT in c.publishers | c.subscribers
)
"""Which message an agent sends or receives on which template (from the channel catalogue)."""

_REPLY_ADDRESS = {"location": "$message.payload#/reply_to"}
_CLOSED_PARAMS: dict[str, tuple[str, ...]] = {
    "task_type": tuple(t.value for t in models.TaskType),
    "hook_type": tuple(t.value for t in models.HookType),
    "stage": tuple(sorted(subjects.HOOK_STAGES_21)),
}
_PARAM_TEXT = {
    "agent_id": "The agent's id (12.2 pattern ^[a-zA-Z0-9_-]+$, at most 128 characters).",
    "task_id": "The task's id: a UUID (ERRATA 9 tells it from a task type).",
    "task_type": "The task type: the closed enum of 12.2 (ERRATA 9).",
    "hook_type": "The hook type of 2.1.1.",
    "stage": "The 2.1 hook stage.",
}


def usages_of(message: str) -> tuple[Usage, ...]:
    """The usages of the message model called ``message``."""
    return tuple(u for u in USAGES if u.message == message)


def stream_of(template: subjects.Template, topology: Topology) -> str | None:
    """The stream of ``topology`` that stores the subjects of ``template``, if one does."""
    return channels.stream_of(channels.channel(template.name), topology)


def _plain(value: Any) -> Any:
    """JSON types only (nats-py's enums are str subclasses, which YAML would tag)."""
    return json.loads(json.dumps(value))


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/")
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _schemas() -> dict[str, Any]:
    """The models' JSON Schemas with every ``$defs`` entry hoisted to the top level."""
    hoisted: dict[str, Any] = {}
    for name, schema in models.json_schemas().items():
        body = {k: val for k, val in schema.items() if k not in ("$schema", "$defs")}
        defs = schema.get("$defs")
        for def_name, definition in {
            **(defs if isinstance(defs, dict) else {}),
            name: body,
        }.items():
            rewritten = _rewrite_refs(definition)
            if hoisted.setdefault(def_name, rewritten) != rewritten:
                raise ValueError(f"two different schemas are called {def_name!r}")
    return dict(sorted(hoisted.items()))


def _summary(model: type[Any]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _messages() -> dict[str, Any]:
    return {
        name: {
            "name": name,
            "title": name,
            "summary": _summary(model),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
        for name, model in models.MODELS.items()
    }


def _parameters(template: subjects.Template) -> dict[str, Any]:
    sample = subjects.parse(template.example()).params
    params: dict[str, Any] = {}
    for name in template.params:
        param: dict[str, Any] = {
            "description": _PARAM_TEXT.get(name, f"The {name.replace('_', ' ')} token.")
        }
        if name in _CLOSED_PARAMS:
            param["enum"] = list(_CLOSED_PARAMS[name])
        else:
            param["examples"] = [sample[name]]
        params[name] = param
    return params


def _channel(template: subjects.Template, topology: Topology) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": template.pattern,
        "title": template.name,
        "description": f"Spec {template.section}: {template.pattern}",
    }
    if template.params:
        channel["parameters"] = _parameters(template)
    name = channels.channel(template.name).payload.__name__
    channel["messages"] = {name: {"$ref": f"#/components/messages/{name}"}}
    stream = stream_of(template, topology)
    if stream is not None:
        channel["x-jetstream-stream"] = stream
        seen_by = [
            c.name
            for c in topology.consumers_of(stream)
            if not c.filters or any(subjects.matches(f, template.example()) for f in c.filters)
        ]
        if seen_by:
            channel["x-jetstream-consumers"] = seen_by
    if template.request_reply or template.name in topology.request_reply:
        channel["x-request-reply"] = True
    return channel


def _reply_channel() -> dict[str, Any]:
    names = sorted({c.reply.__name__ for c in CHANNELS if c.reply is not None})
    return {
        "address": None,
        "title": REPLY_CHANNEL,
        "description": "Replies to core requests: the requester's NATS inbox, or the "
        "subject the request's payload names in reply_to (ERRATA 10: never a stored subject).",
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
    }


def _operations(templates: Iterable[subjects.Template]) -> dict[str, Any]:
    by_name = {t.name: t for t in templates}
    operations: dict[str, Any] = {}
    for usage in USAGES:
        template = by_name[usage.template]
        op_id = f"{usage.action}_{usage.template}"
        ref = f"#/channels/{usage.template}/messages/{usage.message}"
        operation = operations.setdefault(
            op_id,
            {
                "action": usage.action,
                "channel": {"$ref": f"#/channels/{usage.template}"},
                "summary": f"An agent {usage.action}s on {template.pattern}",
                "messages": [],
            },
        )
        operation["messages"].append({"$ref": ref})
        if template.request_reply:
            reply: dict[str, Any] = {"channel": {"$ref": f"#/channels/{REPLY_CHANNEL}"}}
            if "reply_to" in models.MODELS[usage.message].model_fields:
                reply["address"] = _REPLY_ADDRESS
            if usage.reply is not None:
                reply["messages"] = [{"$ref": f"#/channels/{REPLY_CHANNEL}/messages/{usage.reply}"}]
            operation["reply"] = reply
    return operations


def build_asyncapi(topology: Topology | None = None) -> dict[str, JsonValue]:
    """The AsyncAPI 3.0 document of the transport (``topology`` defaults to ours)."""
    topo = default_topology() if topology is None else topology
    channels = {t.name: _channel(t, topo) for t in subjects.TEMPLATES}
    channels[REPLY_CHANNEL] = _reply_channel()
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Mister Smith NATS transport",
            "version": __version__,
            "description": "Subjects (spec 2.1, 12.1), messages (2.1.1, 12.2) and JetStream "
            "(12.3) of the Mister Smith agent framework, corrected as docs/spec-notes.md says. "
            "Operations are seen from an agent.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "A nats-server with JetStream and the topology applied.",
            }
        },
        "channels": channels,
        "operations": _operations(subjects.TEMPLATES),
        "components": {"messages": _messages(), "schemas": _schemas()},
        "x-nats-max-payload": topo.max_payload,
        "x-jetstream-streams": {str(s.name): _plain(s.as_dict()) for s in topo.streams},
        "x-jetstream-consumers": {
            c.name: {"stream": c.stream, "config": _plain(c.config.as_dict())}
            for c in topo.consumers
        },
    }
    return document


def write_asyncapi(path: Path | None) -> str:
    """Write the document to ``path`` (JSON for ``.json``, YAML for ``.yaml``/``.yml``).

    With ``path`` None the YAML goes to stdout. The text written is returned.
    """
    document = build_asyncapi()
    suffix = path.suffix.lower() if path is not None else ".yaml"
    if suffix == ".json":
        text = json.dumps(document, indent=2) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    else:
        raise ConfigError(
            f"cannot tell the format of {path}: name it *.json, *.yaml or *.yml "
            "(`mistersmith asyncapi -o asyncapi.yaml`)"
        )
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return text
