"""``yishi token create|list|revoke``: the token printed alone, listed without it, revoked
to 401 over HTTP (once the server's token cache time has passed: docs/adr/0014)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.cli import main
from tests.api.conftest import LiveServer
from tests.api.helpers import is_problem


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    status = main(["--database-url", url, *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_create_prints_only_the_token_and_list_and_revoke_work(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, server_factory: Any, client_for: Any
) -> None:
    status, out, _err = run(capsys, sqlite_url, "token", "create", "--role", "community",
                           "--community", "C1", "--compound", "JX", "--name", "王社区")
    assert status == 0
    token = out.strip()
    assert out == token + "\n"
    assert len(token) >= 43
    assert " " not in token

    status, listing, _ = run(capsys, sqlite_url, "token", "list")
    assert status == 0
    assert token not in listing
    (line,) = listing.strip().splitlines()
    token_id, role, scope, name, _created, state = line.split("\t")
    assert (role, scope, name, state) == ("community", "compound:JX,community:C1", "王社区",
                                          "live")

    server: LiveServer = server_factory(sqlite_url, token_cache_seconds=0.5)
    client = client_for(server)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/events", headers=headers).status_code == 200  # now in the cache

    status, out, _ = run(capsys, sqlite_url, "token", "revoke", token_id)
    assert (status, out) == (0, f"revoked {token_id}\n")
    time.sleep(0.5)  # another process revoked it: the server sees it within its cache time
    is_problem(client.get("/events", headers=headers), 401, "unauthorized")
    status, listing, _ = run(capsys, sqlite_url, "token", "list")
    assert listing.strip().endswith("revoked " + listing.split("revoked ")[-1].strip())
    assert "\tlive" not in listing


def test_a_district_token_and_errors_on_the_command_line(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    status, out, _ = run(capsys, sqlite_url, "token", "create", "--role", "auditor")
    assert status == 0
    assert out.startswith("yst_")
    _, listing, _ = run(capsys, sqlite_url, "token", "list")
    assert "\tauditor\tdistrict\t-\t" in listing
    status, out, err = run(capsys, sqlite_url, "token", "revoke", "cr_nothing")
    assert status == 2
    assert out == ""
    assert err.startswith("yishi: no token")
    with pytest.raises(SystemExit):
        main(["--database-url", sqlite_url, "token", "create", "--role", "mayor"])
