"""pytest11 entry point of pytest-mistersmith.

Importing this module must stay cheap: no docker, testcontainers or simulator import here
until a fixture needs it, since pytest imports every installed plugin at start-up.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator

import pytest

from pytest_mistersmith import factories
from pytest_mistersmith._report import AUTOUSE_FOR, STARTED_KEY, log_sections, missing_stream_hint
from pytest_mistersmith.config import CONFIG_KEY, add_options, get_config
from pytest_mistersmith.factories.server import binary_lookup

__all__ = [
    "jetstream",
    "mistersmith_contracts",
    "mistersmith_topology",
    "nats_capture",
    "nats_client",
    "nats_cluster",
    "nats_server",
    "swarm",
]

_DOCKER_KEY = pytest.StashKey[str | None]()
#: The report attribute carrying what the simulator said in a test (it crosses xdist as is).
_NOTES_ATTR = "mistersmith_notes"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``mistersmith`` option group (CLI flags and ini keys)."""
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once, early, and keep them on the config's stash."""
    config.stash[CONFIG_KEY] = get_config(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show the backend in force, its binary and version (or URL), and the topology."""
    from simulator.errors import MisterSmithError
    from simulator.protocol.topology import DEFAULT_TOPOLOGY_PATH
    from simulator.servers.start import describe_backend

    cfg = config.stash[CONFIG_KEY]
    try:
        lookup = binary_lookup(config)
        where = describe_backend(cfg.backend, binary=lookup, image=cfg.image, url=cfg.url)
    except MisterSmithError:
        where = (
            f"nats-server not found ({cfg.server_bin or 'default lookup'}; the first test "
            "using nats_server lists where we looked)"
        )
    return [f"mistersmith: backend {cfg.backend}, {where}, topology {DEFAULT_TOPOLOGY_PATH.name}"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note when the test starts (its report's logs begin there); skip a test marked ``docker``
    where no engine answers (fail with --nats-require-docker)."""
    item.stash[STARTED_KEY] = time.time()
    if item.get_closest_marker("docker") is None:
        return
    config = item.config
    if _DOCKER_KEY not in config.stash:
        from simulator.servers import docker_available

        config.stash[_DOCKER_KEY] = docker_available()
    reason = config.stash[_DOCKER_KEY]
    if reason is None:
        return
    if config.stash[CONFIG_KEY].require_docker:
        pytest.fail(
            f"this test needs Docker and --nats-require-docker (ini nats_require_docker) is set, "
            f"but {reason}. Fix: start the Docker engine (`docker info` must answer)",
            pytrace=False,
        )
    pytest.skip(f"needs a Docker engine: {reason} (install Docker, or ignore: -m 'not docker')")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log of each server the failing test used, and a hint on a missing stream.

    Lines the simulator said meanwhile (an image built on demand) go on the report too, for
    :func:`pytest_terminal_summary` (under xdist, the controller's: reports cross as data).
    """
    report = yield
    image = sys.modules.get("simulator.servers.image")  # loaded only if a test used docker
    if image is not None:
        notes = image.take_build_notes()
        if notes:
            setattr(report, _NOTES_ATTR, notes)
    if not report.failed:
        return report
    hint = missing_stream_hint(item, call)
    if hint is not None:
        report.sections.append(("mistersmith: a stream is missing", hint))
    report.sections += log_sections(item)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say what was built on demand, and what applying the topology changed (drift included)."""
    from pytest_mistersmith.factories.topology import janitors

    for reports in list(terminalreporter.stats.values()):  # every phase's report is there
        for report in reports:
            for note in getattr(report, _NOTES_ATTR, None) or ():
                terminalreporter.write_line(note)

    for janitor in janitors(terminalreporter.config):
        report = janitor.applied
        if report is None:
            continue
        done = [c for c in report.changes if c.action != "unchanged"]
        created = sum(c.action == "created" for c in done)
        if created == len(done) and terminalreporter.verbosity < 1:
            continue  # a fresh server: nothing worth a line unless asked
        terminalreporter.write_line(
            f"mistersmith: topology on {janitor.client_url}: {created} created, "
            f"{len(done) - created} updated, {len(report.changes) - len(done)} unchanged"
        )
        for change in done:
            if change.action == "updated":
                terminalreporter.write_line(
                    f"  {change.kind} {change.name} drifted ({', '.join(change.fields)}): updated"
                )


@pytest.fixture(autouse=True)
def _mistersmith_autouse_topology(request: pytest.FixtureRequest) -> None:
    """With ``mistersmith_autouse_topology``, a test on the session's server gets the topology."""
    if not request.config.stash[CONFIG_KEY].autouse_topology:
        return
    if AUTOUSE_FOR.intersection(request.fixturenames):
        request.getfixturevalue("mistersmith_topology")


# The default fixtures, made by the factories (users make more the same way).
nats_server = factories.nats_server_factory()
nats_client = factories.nats_client_factory("nats_server")
jetstream = factories.jetstream_factory("nats_client")
mistersmith_topology = factories.topology_factory("nats_server")
nats_cluster = factories.nats_cluster_factory()
nats_capture = factories.capture_factory("nats_client")
mistersmith_contracts = factories.contracts_factory("nats_client")
swarm = factories.swarm_factory("nats_server")
