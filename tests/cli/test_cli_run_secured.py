"""`mistersmith run` on secured servers: the embedded one (--auth, --tls) and one reached by URL."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.servers import BinaryServer
from simulator.servers.security import Security
from tests.cli_runs import run_cli

SHORT = ["--agents", "3", "--duration", "2", "--seed", "1"]


def test_the_embedded_server_secured_runs_clean_with_an_identity_per_agent(
    tmp_path: Path,
) -> None:
    report = tmp_path / "r.json"
    ten = ["--agents", "10", "--duration", "2", "--seed", "1"]
    done = run_cli([*ten, "--auth", "nkey", "--tls", "mtls", "--report", str(report)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["errors"]["total"] == 0, data["errors"]
    assert data["permission_denied"] == 0 and data["permission_denied_by_subject"] == {}
    assert data["server"]["agent_connections"] == "one per agent"
    assert data["messages"]["by_family"]["agent_heartbeat"] > 0
    assert data["tasks"]["finished"] > 0


def test_a_secured_server_is_reached_with_credential_files(tmp_path: Path) -> None:
    with BinaryServer(security=Security("nkey", "tls")) as server:
        creds = server.credentials_dir
        assert creds is not None
        report = tmp_path / "r.json"
        files = ["--nkey-seed", str(creds / "admin.nk"), "--tls-ca", str(creds / "ca.pem")]
        args = [*SHORT, "--url", server.client_url, *files, "--report", str(report)]
        done = run_cli(args, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(report.read_text())["errors"]["total"] == 0


def test_bad_credential_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    not_a_ca = tmp_path / "ca.pem"
    not_a_ca.write_text("hello\n")
    url = ["--url", "nats://127.0.0.1:1"]
    cases = [
        ([*url, "--creds", str(tmp_path / "missing.creds")], "--creds "),
        ([*url, "--tls-ca", str(not_a_ca)], "--tls-ca "),
        (["--creds", str(not_a_ca)], "for a server someone else runs (--url)"),
        ([*url, "--auth", "nkey"], "a server at --url is secured by whoever runs it"),
    ]
    for args, named in cases:
        done = run_cli(args, tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], (args, done.stderr)
    done = run_cli(["--auth", "kerberos"], tmp_path)
    assert done.returncode == 2 and "invalid choice: 'kerberos'" in done.stderr
