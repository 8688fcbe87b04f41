"""`mistersmith image build`: a FROM scratch image of the installed binary, with no registry."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from simulator.cli import main
from simulator.servers import DockerServer, find_nats_server
from simulator.servers.image import default_image, local_tag


@pytest.fixture
def tag() -> Iterator[str]:
    """A throwaway tag, removed after the test."""
    name = f"mistersmith/nats-server-test:{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["docker", "rmi", "-f", name], capture_output=True, check=False)


@pytest.mark.docker
def test_image_build_makes_a_scratch_image_that_serves(
    tag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["image", "build", "--tag", tag]) == 0
    assert tag in capsys.readouterr().out
    inspect = json.loads(subprocess.check_output(["docker", "image", "inspect", tag]))[0]
    assert inspect["Config"]["Entrypoint"] == ["/nats-server"]
    assert len(inspect["RootFS"]["Layers"]) == 1  # FROM scratch: the binary only
    version = find_nats_server().version
    assert inspect["Config"]["Labels"]["org.opencontainers.image.version"] == version
    with DockerServer(image=tag) as server:
        assert server.version == version


@pytest.mark.docker
def test_default_image_prefers_the_cached_official_then_ours() -> None:
    version = find_nats_server().version
    chosen = default_image(version)
    assert chosen in (f"nats:{version}", local_tag(version))


def test_image_build_reports_a_missing_binary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "build", "--server-bin", "/nonexistent/nats-server"]) == 2
    assert "nats-server" in capsys.readouterr().err


@pytest.fixture
def unbuilt(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Repositories the engine has no image of: the default image must be built on demand."""
    from simulator.servers import image

    repository = f"mistersmith/nats-server-ondemand-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(image, "LOCAL_REPOSITORY", repository)
    monkeypatch.setattr(image, "OFFICIAL_REPOSITORY", f"{repository}-official")
    image.take_build_notes()  # forget what earlier tests built
    tag = local_tag(find_nats_server().version)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


@pytest.mark.docker
def test_a_missing_default_image_is_built_once_on_demand_and_said(unbuilt: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from simulator.servers.image import image_present, take_build_notes

    version = find_nats_server().version
    assert not image_present(unbuilt)
    # two at once (as two xdist workers would): one builds, the other waits and reuses it
    with ThreadPoolExecutor(2) as pool:
        chosen = list(pool.map(lambda _: default_image(version), range(2)))
    assert chosen == [unbuilt, unbuilt]
    notes = take_build_notes()
    assert len(notes) == 1, notes
    assert notes[0].startswith("mistersmith: the Docker engine has neither ")
    assert f"built {unbuilt} from " in notes[0]
    # a server with no image given runs on it, and nothing more is built
    with DockerServer() as server:
        assert server.image == unbuilt
        assert server.version == version
    assert take_build_notes() == []
