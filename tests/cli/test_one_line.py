"""Every one-line output stays one line, whatever line breaks were stored before.

A title with a newline was accepted once; its audit summary, its line in ``yishi replay``
and its CSV cell must still be one line each (metrics.md: one line per event).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cli import main
from domain.application import Cases
from domain.catalogue import CATALOGUE
from domain.summaries import summarise
from projections import queries
from projections.service import ProjectionService
from tests.conftest import People, report_data
from tests.legacy import report_unchecked

BROKEN = "漏水\n3号楼\r\n地库\u2028还在\x85漏\u2029x\x0by\x0cz\x1c\x1d\x1e!"


@pytest.mark.parametrize("store", ["sqlite_url", "pg_url"])
def test_a_stored_title_with_line_breaks_is_one_line_in_every_output(
    app_factory: Callable[[str], Cases], store: str, request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url: str = request.getfixturevalue(store)
    app = app_factory(url)
    case_id = uuid4()
    report_unchecked(app, case_id, report_data(title=BROKEN), People.grid)
    app.add_comment(case_id, People.grid, text="first line\nsecond line")
    ProjectionService(app).catch_up()

    rows = queries.audit(app)["data"]
    assert len(rows) == 2
    for row in rows:
        assert len(row["summary"].splitlines()) == 1, row["summary"]
    assert "漏水 3号楼 地库 还在 漏 x y z" in rows[0]["summary"]

    exported = "".join(queries.audit_csv(app))
    assert len(exported.splitlines()) == 3  # the header and one line per event
    assert len(list(csv.reader(io.StringIO(exported)))) == 3

    assert main(["--database-url", url, "replay", str(case_id)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("v")]) == 2
    title_lines = [line for line in lines if line.startswith("  title: ")]
    assert len(title_lines) == 1
    assert "还在" in title_lines[0]
    assert all(len(line.splitlines()) <= 1 for line in out.split("\n"))


texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300)


@given(event_type=st.sampled_from(sorted(CATALOGUE)), text=texts)
def test_every_summary_is_one_line_whatever_its_texts_hold(event_type: str, text: str) -> None:
    data: dict[str, object] = {
        "category": text, "channel": text, "compound_id": text, "community_id": text,
        "title": text, "source_case_id": text, "into_case_id": text, "opinion": text,
        "rework": text, "reason": text, "referred_to": text, "party": text,
        "scheduled_at": text, "venue": text, "outcome": text, "publicity_days": text,
        "channels": [text, text], "assignee": text, "assignee_role": text, "due_at": text,
        "percent": text, "verdict": text, "satisfaction": text, "source": text,
        "resolution": text, "votes": {"for": text, "against": text, "abstain": text},
    }
    summary = summarise(event_type, data)
    assert len(summary.splitlines()) <= 1
    assert summary == "" or summary.splitlines() == [summary]
