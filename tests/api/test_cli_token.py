"""``yishi token create|list|revoke``: the token printed alone, listed without it, revoked
to 401 over HTTP (once the server's token cache time has passed: docs/adr/0014)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from tests.api.conftest import LiveServer
from tests.api.helpers import is_problem
from tests.district import DISTRICT_CSV


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    status = main(["--database-url", url, *argv])
    out, err = capsys.readouterr()
    return status, out, err


def _registered(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path) -> None:
    district = tmp_path / "district.csv"
    district.write_text(DISTRICT_CSV, encoding="utf-8")
    assert run(capsys, url, "directory", "import", str(district))[0] == 0


def test_create_prints_only_the_token_and_list_and_revoke_work(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, server_factory: Any, client_for: Any,
    tmp_path: Path,
) -> None:
    _registered(capsys, sqlite_url, tmp_path)
    status, out, _err = run(capsys, sqlite_url, "token", "create", "--role", "community",
                           "--community", "C1", "--compound", "JX", "--name", "社区工作人员")
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
    assert (role, scope, name, state) == ("community", "compound:JX,community:C1",
                                          "社区工作人员", "live")

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


def test_a_scope_names_registered_units_at_any_level(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    status, out, err = run(capsys, sqlite_url, "token", "create", "--role", "grid_worker",
                           "--compound", "JX")
    assert (status, out) == (2, "")
    assert err.startswith("yishi: --compound JX is not a registered compound")
    assert len(err.splitlines()) == 1
    _registered(capsys, sqlite_url, tmp_path)
    for flag, code in (("--street", "S1"), ("--grid", "JX-G1"), ("--community", "C1")):
        status, out, _ = run(capsys, sqlite_url, "token", "create", "--role", "auditor",
                             flag, code)
        assert status == 0
        assert out.startswith("yst_")
    status, _, err = run(capsys, sqlite_url, "token", "create", "--role", "auditor",
                         "--grid", "JX")
    assert status == 2
    assert "not a registered grid" in err
    _, listing, _ = run(capsys, sqlite_url, "token", "list")
    scopes = [line.split("\t")[2] for line in listing.splitlines()]
    assert sorted(scopes) == ["community:C1", "grid:JX-G1", "street:S1"]


def test_a_residents_token_name_is_sealed_and_erased_with_the_resident(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    _registered(capsys, sqlite_url, tmp_path)
    run(capsys, sqlite_url, "token", "create", "--role", "resident", "--compound", "JX",
        "--name", "张三")
    _, listing, _ = run(capsys, sqlite_url, "token", "list")
    credential_id, _, _, name = listing.split("\t")[:4]
    assert name == "张三"
    path = sqlite_url.removeprefix("sqlite:///")
    assert "张三".encode() not in Path(path).read_bytes() + _wal(path)
    from domain.application import open_cases  # noqa: PLC0415
    from domain.model import Actor, Role  # noqa: PLC0415

    app = open_cases(sqlite_url)
    try:
        app.erase_subject(f"resident:{credential_id}", Actor("cli", Role.ADMIN))
    finally:
        app.close()
    _, listing, _ = run(capsys, sqlite_url, "token", "list")
    assert listing.split("\t")[3] == "(erased)"


def _wal(path: str) -> bytes:
    wal = Path(path + "-wal")
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.parametrize("scope", [[], ["--community", "C1"], ["--street", "S1"]])
def test_a_resident_token_names_the_compound_the_resident_lives_in(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path, scope: list[str]
) -> None:
    _registered(capsys, sqlite_url, tmp_path)
    status, out, err = run(capsys, sqlite_url, "token", "create", "--role", "resident",
                           *scope, "--name", "居民")
    assert status == 2
    assert out == ""
    assert "--compound" in err
    assert err.count("\n") == 1
    _, listing, _ = run(capsys, sqlite_url, "token", "list")
    assert listing == ""


def test_the_help_puts_an_before_a_vowel(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "create", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "an area (片区)" in shown
    assert "a area" not in shown
