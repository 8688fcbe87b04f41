"""Why a container did not start, as the engine sees it: no engine, no image, or its answer."""

from __future__ import annotations

from simulator.errors import ImageNotFoundError, ServerError, ServerStartError
from simulator.servers._docker_cli import docker_available
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers.image import image_present, local_tag

__all__ = ["start_failure"]


def start_failure(image: str, exc: Exception, binary: BinaryArg) -> ServerStartError:
    """The error of a container that did not start, naming its cause as the engine sees it."""
    said = " ".join(str(exc).split())[:300]
    down = docker_available()
    if down is not None:
        return ServerStartError(
            f"cannot start a container of {image}: {down}. Fix: start the Docker engine "
            "(`docker info` must answer), or use the binary backend"
        )
    if not image_present(image):
        try:
            ours = local_tag(resolve_binary(binary).version)
        except ServerError:
            ours = local_tag("VERSION")
        return ImageNotFoundError(
            f"the Docker engine has no image {image} and could not pull it ({said}). Fix: use "
            f"an image the engine has (`docker image ls`), or give none: {ours} is then built "
            "from the installed nats-server on demand, offline",
            image,
        )
    return ServerStartError(f"cannot start a container of {image}: {said}")
