"""No CSV the product writes carries a live formula (api.md; docs/adr/0072).

Every CSV endpoint, and the command line's ``directory show``, is read back with a
spreadsheet's eyes: no text cell may begin with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return unless it is a number. The directory lets a name begin with anything, so
a compound named ``=HYPERLINK(...)`` and a case titled ``@SUM(1)`` are the bait.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cli import main
from api.pages.csvfile import _line
from domain.csvcells import FORMULA_STARTS, csv_line, safe_cell
from domain.model import Role
from domain.summaries import one_line
from projections import queries
from tests.api.conftest import LiveServer, ServerFactory, issue
from tests.api.helpers import open_case

EVIL = '=HYPERLINK("http://evil.example","点我")'
CSV_PATHS = (
    "/audit?format=csv",
    "/stats/closure?group_by=compound&format=csv",
    "/stats/closure?group_by=community&format=csv",
    "/stats/satisfaction?group_by=compound&format=csv",
    "/stats/steps?format=csv",
    "/directory?format=csv",
)


def _dangerous(cell: str) -> bool:
    if not cell.startswith(FORMULA_STARTS):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False)))
def test_a_safe_cell_never_starts_a_formula_and_numbers_stay_numbers(value: object) -> None:
    [[cell]] = _cells(csv_line([value]))
    assert not _dangerous(cell)
    if isinstance(value, int):
        assert int(cell) == value
    elif isinstance(value, float):
        assert float(cell) == value
    elif not str(value).startswith(FORMULA_STARTS):
        assert cell == value
    else:
        assert cell in (value, "'" + str(value))


@pytest.mark.parametrize(("text", "expected"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-5", "-5"), ("1.5", "1.5"), ("plain", "plain"),
])
def test_formula_like_text_gets_a_quote_and_a_negative_number_does_not(
    text: str, expected: str
) -> None:
    assert safe_cell(text) == expected
    assert safe_cell(-3) == -3


def test_the_projections_write_csv_through_the_one_helper() -> None:
    for row in (["=1+2", "-3", -3, "两\n行"], ["@x", None, 1.5]):
        cells = [one_line(v) if isinstance(v, str) else v for v in row]
        assert queries._csv_line(row) == csv_line(cells)


def test_every_csv_endpoint_and_the_command_line_keep_formulas_out(
    server_factory: ServerFactory, client_for: Callable[[LiveServer], httpx.Client],
    sqlite_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    server = server_factory(sqlite_url, projections=True)
    client = client_for(server)
    admin = issue(server, Role.ADMIN)
    imported = client.post("/directory/import", headers=admin.headers, content=(
        "level,code,name,parent,name_en\n"
        f'compound,EVIL,"{EVIL.replace(chr(34), chr(34) * 2)}",C1,-1+2\n'
    ).encode())
    assert imported.status_code == 200, imported.text
    staff = issue(server, Role.COMMUNITY, communities=["C1"])
    open_case(client, staff, compound_id="EVIL", title="@SUM(1)", location="+86 楼下")
    open_case(client, staff)
    head = server.cases.head_position()
    auditor = issue(server, Role.AUDITOR)
    seen_evil = False
    for path in CSV_PATHS:
        fresh = "" if path.startswith("/directory") else f"&min_position={head}"
        response = client.get(path + fresh, headers=auditor.headers)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        for row in _cells(response.text):
            for cell in row:
                assert not _dangerous(cell), (path, cell)
                seen_evil = seen_evil or cell == "'" + EVIL
    assert seen_evil
    assert main(["--database-url", sqlite_url, "directory", "show"]) == 0
    shown = _cells(capsys.readouterr().out)
    assert shown[-2][:5] == ["compound", "EVIL", "'" + EVIL, "C1", "'-1+2"] or any(
        row[:5] == ["compound", "EVIL", "'" + EVIL, "C1", "'-1+2"] for row in shown)
    assert not any(_dangerous(cell) for row in shown for cell in row)


def test_the_pages_csv_downloads_keep_formulas_out() -> None:
    line = _line(["=HYPERLINK(\"http://x\")", "@SUM(1)", -3, "两\n行"])
    assert line.endswith("\r\n")
    assert len(list(csv.reader(io.StringIO(line)))) == 1  # one record
    assert line.startswith("\"'=HYPERLINK(")
    assert ",'@SUM(1),-3," in line
