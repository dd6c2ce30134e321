"""One exit-status rule for every command, stores that read-only commands never create,
one-line errors that name the real cause, and a quiet end on a closed pipe (issue 9,
part 10; docs/adr/0045-exit-status.md, docs/adr/0046-sqlite-urls.md)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import POSTGRES_BASE
from tests.stories import advance, open_case

AppFactory = Callable[[str], Cases]
ROOT = Path(__file__).resolve().parents[2]

#: Every read-only command, with the arguments it needs after its name.
READ_ONLY: list[list[str]] = [
    ["verify"],
    ["verify", str(uuid.UUID(int=1))],
    ["replay", str(uuid.UUID(int=1))],
    ["projections", "status"],
    ["token", "list"],
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line(err: str) -> str:
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert err.startswith("yishi: "), err
    return err.strip()


def with_database(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def schemas() -> set[str]:
    with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}


def tables(url: str) -> set[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# Read-only commands and missing stores --------------------------------------------------

@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_on_a_missing_sqlite_file_names_it_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str],
) -> None:
    missing = tmp_path / "mistyped.db"
    status, out, err = run(capsys, "--database-url", f"sqlite:///{missing}", *command)
    assert (status, out) == (2, "")
    assert one_line(err) == f"yishi: no store at {missing}: no such file"
    assert list(tmp_path.iterdir()) == []


def test_the_default_store_missing_is_named_with_how_to_name_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YISHI_DATABASE_URL", raising=False)
    status, _out, err = run(capsys, "verify")
    assert status == 2
    assert one_line(err).startswith(f"yishi: no store at {tmp_path / 'yishi.db'}: no such file")
    assert "--database-url" in err
    assert not (tmp_path / "yishi.db").exists()


def test_a_file_that_is_no_store_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    empty, other = tmp_path / "empty.db", tmp_path / "other.db"
    empty.touch()
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, " * 100)
    for path, reason in [(empty, "the file holds no yishi event table"),
                         (other, "the file holds no yishi event table"),
                         (text, "file is not a database")]:
        before = path.read_bytes()
        status, _out, err = run(capsys, "--database-url", f"sqlite:///{path}", "verify")
        assert status == 2
        assert one_line(err) == f"yishi: no store at {path}: {reason}"
        assert path.read_bytes() == before


def test_a_store_with_no_events_is_fine_and_gains_no_tables(
    sqlite_url: str, app_factory: AppFactory, capsys: pytest.CaptureFixture[str],
) -> None:
    app_factory(sqlite_url).close()
    before = tables(sqlite_url)
    status, out, _ = run(capsys, "--database-url", sqlite_url, "verify")
    assert status == 0
    assert out.startswith("ok log: not built yet (no leaves, no checkpoint)\n"
                          "checked 0 case(s), 0 event(s): 0 valid, 0 broken\n")
    status, out, _ = run(capsys, "--database-url", sqlite_url, "projections", "status")
    assert status == 0
    assert out.startswith("generation 0, log head ")  # the test district's events, if any
    status, _, err = run(capsys, "--database-url", sqlite_url, "replay", str(uuid.UUID(int=7)))
    assert status == 2
    assert one_line(err) == f"yishi: case {uuid.UUID(int=7)} not found"
    assert tables(sqlite_url) == before


@pytest.mark.postgres
@pytest.mark.parametrize("command", [*READ_ONLY, ["serve"], ["token", "create", "--role",
                                                              "admin"]], ids=" ".join)
def test_a_missing_postgres_database_is_named_as_such(
    capsys: pytest.CaptureFixture[str], command: list[str],
) -> None:
    name = f"yishi_missing_{uuid.uuid4().hex[:8]}"
    status, out, err = run(capsys, "--database-url", with_database(POSTGRES_BASE, name),
                           *command)
    assert (status, out) == (2, "")
    assert one_line(err).endswith(f'database "{name}" does not exist')


@pytest.mark.postgres
@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_on_a_missing_postgres_schema_names_it_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], command: list[str],
) -> None:
    name = f"yishi_missing_{uuid.uuid4().hex[:8]}"
    url = f"{POSTGRES_BASE}?schema={name}"
    status, out, err = run(capsys, "--database-url", url, *command)
    assert (status, out) == (2, "")
    assert one_line(err) == f"yishi: no store at {url}: no schema {name!r}"
    assert name not in schemas()


@pytest.mark.postgres
def test_an_empty_postgres_schema_is_no_store_and_stays_empty(
    pg_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    schema = pg_url.rsplit("=", 1)[1]
    status, _out, err = run(capsys, "--database-url", pg_url, "verify")
    assert status == 2
    assert one_line(err) == (f"yishi: no store at {pg_url}: schema {schema!r} "
                             "holds no yishi event table")
    with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s",
                             (schema,)).fetchone()
    assert count == (0,)


@pytest.mark.postgres
def test_an_existing_postgres_store_with_no_events_verifies(
    pg_url: str, app_factory: AppFactory, capsys: pytest.CaptureFixture[str],
) -> None:
    app_factory(pg_url)
    status, out, _ = run(capsys, "--database-url", pg_url, "verify")
    assert status == 0
    assert out.startswith("ok log: not built yet (no leaves, no checkpoint)\n"
                          "checked 0 case(s), 0 event(s): 0 valid, 0 broken\n")


# URLs ------------------------------------------------------------------------------------

def test_an_unsupported_url_keeps_its_scheme_and_hides_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _out, err = run(capsys, "--database-url", "mysql://ops:s3cret@db.example/cases",
                            "verify")
    assert status == 2
    assert one_line(err).startswith(
        "yishi: unsupported database URL 'mysql://ops:***@db.example/cases': use ")
    assert "s3cret" not in err


def test_sqlite_urls_read_three_slashes_as_relative_and_four_as_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "work" / "tmp").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    status, _, _ = run(capsys, "--database-url", "sqlite:///tmp/x.db", "token", "create",
                       "--role", "admin")
    assert status == 0
    assert (tmp_path / "work" / "tmp" / "x.db").is_file()
    absolute = tmp_path / "elsewhere.db"
    status, _, _ = run(capsys, "--database-url", f"sqlite:///{absolute}", "token", "create",
                       "--role", "admin")
    assert status == 0
    assert absolute.is_file()
    status, _, err = run(capsys, "--database-url", "sqlite:///nowhere/x.db", "token",
                         "create", "--role", "admin")
    assert status == 2
    assert one_line(err) == (f"yishi: cannot create the store at {tmp_path}/work/nowhere/x.db: "
                             f"no directory {tmp_path}/work/nowhere")
    for url in ("sqlite://", "sqlite:///", "sqlite://x.db", "sqlite:x.db"):
        status, _, err = run(capsys, "--database-url", url, "verify")
        assert status == 2
        assert one_line(err) == (f"yishi: database URL {url!r} names no file: use "
                                 "sqlite:///relative/file.db or sqlite:////absolute/file.db")


def test_a_missing_relative_file_that_exists_at_the_root_gets_the_four_slash_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str, app_factory: AppFactory,
) -> None:
    app_factory(sqlite_url).close()
    absolute = sqlite_url.removeprefix("sqlite:///")
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "--database-url", f"sqlite://{absolute}", "verify")
    assert status == 2
    assert one_line(err) == (
        f"yishi: no store at {tmp_path}{absolute}: no such file (sqlite:/// names a path "
        f"relative to the working directory; for {absolute} write sqlite:///{absolute})")


# Statuses --------------------------------------------------------------------------------

def test_bad_usage_is_status_2_and_a_bug_is_status_70_with_its_traceback(
    sqlite_url: str, app_factory: AppFactory, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["verify", "not-a-case-id"])
    assert usage.value.code == 2
    assert one_line(capsys.readouterr().err).startswith("yishi: argument CASE_ID: ")
    with pytest.raises(SystemExit) as unknown:
        main(["frobnicate"])
    assert unknown.value.code == 2
    capsys.readouterr()

    app_factory(sqlite_url).close()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Cases, "verify_all", broken)
    status, _out, err = run(capsys, "--database-url", sqlite_url, "verify")
    assert status == 70
    assert "Traceback" in err
    assert "RuntimeError: a bug" in err
    assert err.rstrip().endswith("yishi: internal error (a bug: please report the traceback "
                                 "above)")


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version  # noqa: PLC0415

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"yishi {version('yishi')}\n"


# A closed pipe ----------------------------------------------------------------------------

def cli(*argv: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
            *argv]


@pytest.mark.parametrize("command", ["replay", "verify"])
def test_a_closed_pipe_ends_quietly(
    sqlite_url: str, app_factory: AppFactory, clock: ManualClock, command: str,
) -> None:
    app = app_factory(sqlite_url)
    case_id: UUID = open_case(app)
    advance(app, clock, case_id, Step.CLOSED)
    app.close()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (``head``) is gone before the first line
    try:
        result = subprocess.run(
            cli("--database-url", sqlite_url, command, str(case_id)),
            check=False, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


def test_a_read_only_command_does_not_load_the_web_stack(sqlite_url: str,
                                                         app_factory: AppFactory) -> None:
    app_factory(sqlite_url).close()
    probe = ("import sys; from api.cli import main; status = main(sys.argv[1:]); "
             "print(sorted(m for m in ('fastapi', 'uvicorn', 'api.http', 'simulation') "
             "if m in sys.modules)); sys.exit(status)")
    result = subprocess.run(
        [sys.executable, "-c", probe, "--database-url", sqlite_url, "verify"],
        check=False, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", [("log", "status"), ("log", "checkpoint"),
                                     ("directory", "show")])
def test_the_log_and_directory_commands_never_create_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    missing = tmp_path / "typo.db"
    status, _, err = run(capsys, "--database-url", f"sqlite:///{missing}", *command)
    assert status == 2
    assert "no store at" in err
    assert not missing.exists()


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_log_status_on_a_store_whose_log_was_never_built_creates_no_table(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], url_fixture: str,
) -> None:
    from domain.application import open_cases  # noqa: PLC0415
    from projections import tlog_store as ls  # noqa: PLC0415

    url = request.getfixturevalue(url_fixture)
    open_cases(url).close()  # a store with its events table, its log never built
    status, out, _ = run(capsys, "--database-url", url, "log", "status")
    assert status == 0
    assert "log size      0 leaves" in out
    cases = open_cases(url)
    try:
        assert not ls.has_tables(cases.db)
    finally:
        cases.close()


@pytest.mark.parametrize("port", ["99999", "-1", "0", "http"])
def test_serve_refuses_a_port_outside_1_to_65535_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, port: str,
) -> None:
    store = tmp_path / "never.db"
    with pytest.raises(SystemExit) as exited:
        main(["--database-url", f"sqlite:///{store}", "serve", "--port", port])
    assert exited.value.code == 2
    assert "port" in one_line(capsys.readouterr().err)
    assert not store.exists()


def test_serve_on_a_port_in_use_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    import socket  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = run(capsys, "--database-url", f"sqlite:///{tmp_path / 'y.db'}",
                             "serve", "--port", str(port))
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(err)
