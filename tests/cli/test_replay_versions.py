"""``yishi replay --version N`` refuses a version beyond the head, as the API does (404)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from api.cli import main
from domain.application import Cases
from tests.stories import open_case


@pytest.mark.parametrize("store", ["sqlite_url", "pg_url"])
def test_a_version_beyond_the_head_is_one_line_and_exit_status_2(
    store: str, request: pytest.FixtureRequest, app_factory: Callable[[str], Cases],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url: str = request.getfixturevalue(store)
    case_id = open_case(app_factory(url))
    status = main(["--database-url", url, "replay", str(case_id), "--version", "99"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err == f"yishi: case {case_id} has no version 99 (its last is 1)\n"
    assert main(["--database-url", url, "replay", str(case_id), "--version", "1"]) == 0


def test_a_version_no_case_can_have_is_one_line_and_status_2(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("9" * 30, "0", "-1", "x"):
        try:
            status = main(["--database-url", sqlite_url, "replay", str(uuid.uuid4()),
                           "--version", bad])
        except SystemExit as exited:  # the parser's own one line (not a number at all)
            status = int(str(exited.code))
        err = capsys.readouterr().err
        assert status == 2
        assert err.count("\n") == 1
        assert "Traceback" not in err
