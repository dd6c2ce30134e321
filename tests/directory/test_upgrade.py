"""A store written before the directory keeps working after the upgrade (practices.md).

``tests/fixtures/store-before-directory.db`` was written by the version before the
directory (commit 882ab79): two cases in compounds JX and JT of community C1, a resident's
token named after a person, a grid worker's and a community's. Opened by this version, its
tokens still work, its codes are listed by ``directory show --unregistered`` in the import
format, and importing that list with names registers them, after which cases are filed.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from api.credentials import Credentials
from domain.application import open_cases
from domain.errors import UnknownUnit
from domain.model import Role
from tests.conftest import report_data

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def old_store(tmp_path: Path) -> str:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "store-before-directory.db", path)
    return f"sqlite:///{path}"


def _tokens() -> list[str]:
    return (FIXTURES / "store-before-directory.tokens").read_text().split()


def test_an_old_store_opens_its_tokens_work_and_its_codes_are_listed_then_registered(
    old_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", old_store, "directory", "show", "--unregistered"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == ["level,code,name,parent,name_en,households,kind,provider,provider_from",
                      "community,C1,,", "compound,JT,,C1", "compound,JX,,C1"]
    app = open_cases(old_store)
    try:
        resident, grid, community = (Credentials(app.db).authenticate(t) for t in _tokens())
        assert resident is not None
        assert resident.role is Role.RESIDENT
        assert grid is not None
        assert community is not None
        case_ids = list(app.case_ids())
        assert len(case_ids) == 2
        assert app.get_case(case_ids[0], reader=grid).compound_id == "JX"
        assert all(report.valid for report in app.verify_all())
        with pytest.raises(UnknownUnit):
            app.report_problem(grid, report_data())
    finally:
        app.close()
    filled = tmp_path / "names.csv"
    filled.write_text("level,code,name,parent\nstreet,S1,示范街道,\ncommunity,C1,幸福社区,S1\n"
                      "compound,JT,涧田集资楼,C1\ncompound,JX,锦绣佳苑,C1\n", encoding="utf-8")
    assert main(["--database-url", old_store, "directory", "import", str(filled)]) == 0
    assert capsys.readouterr().out == "added 4, changed 0, provider assignments 0\n"
    assert main(["--database-url", old_store, "directory", "show", "--unregistered"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []
    app = open_cases(old_store)
    try:
        grid = Credentials(app.db).authenticate(_tokens()[1])
        assert grid is not None
        data = report_data()
        del data["community_id"]
        case = app.report_problem(grid, data).case
        assert case.community_id == "C1"
        assert all(report.valid for report in app.verify_all())
    finally:
        app.close()


def test_an_old_residents_token_name_is_sealed_when_the_store_is_opened(old_store: str) -> None:
    app = open_cases(old_store)
    try:
        credentials = Credentials(app.db)
        resident = next(c for c in credentials.list() if c.role is Role.RESIDENT)
        assert resident.name == "张三"
    finally:
        app.close()
    path = old_store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        names = conn.execute("SELECT name FROM yishi_credentials WHERE role = 'resident'")
        assert names.fetchall() == [(None,)]
    conn.close()
