"""Texts the projections could not store are refused when an event is recorded."""

from __future__ import annotations

import pytest

from domain.catalogue import validate_data
from domain.errors import InvalidEventData

REPORT = {"compound_id": "JX", "community_id": "C1", "title": "地下车库漏水",
          "description": "3号楼", "category": "facilities", "channel": "wechat"}


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800", "\udfff"])
def test_a_nul_or_an_unpaired_surrogate_is_refused_by_name(bad: str) -> None:
    with pytest.raises(InvalidEventData) as refused:
        validate_data("ProblemReported", {**REPORT, "title": bad})
    assert "title" in str(refused.value)
    with pytest.raises(InvalidEventData):
        validate_data("ProblemReported", {**REPORT, "reporter": {"name": bad, "phone": "1"}})


def test_any_other_unicode_text_is_kept() -> None:
    title = "😀 \U0001f3e0 地库 \t tab \u200b"
    assert validate_data("ProblemReported", {**REPORT, "title": title})["title"] == title.strip()
