"""The message catalogue covers the vocabulary; languages are negotiated; numbers, times
and durations are formatted as people read them (no browser)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.http.guard import BodyGuard
from api.i18n import accepted, label, language, problem_text, summary, text
from api.i18n.catalogue import MESSAGES, PROBLEMS, SUMMARIES_ZH
from api.pages import formats
from domain.catalogue import ASSIGNEE_ROLES, CATALOGUE, SATISFACTION, Category, Channel
from domain.errors import DomainError
from domain.model import Resolution, Role, Step
from projections.fold import LOOP_KINDS


def test_every_value_of_the_vocabulary_has_both_names() -> None:
    vocabulary = (
        [("step", s.value) for s in Step] + [("role", r.value) for r in Role]
        + [("category", c.value) for c in Category] + [("channel", c.value) for c in Channel]
        + [("resolution", r.value) for r in Resolution]
        + [("satisfaction", s) for s in SATISFACTION] + [("loop", k) for k in LOOP_KINDS]
        + [("event", e) for e in CATALOGUE] + [("role", r) for r in ASSIGNEE_ROLES]
    )
    for kind, value in vocabulary:
        zh, en = MESSAGES[f"{kind}.{value}"]
        assert zh, (kind, value)
        assert en, (kind, value)
        assert zh != en, (kind, value)


def test_every_event_type_has_a_chinese_summary() -> None:
    assert set(SUMMARIES_ZH) == set(CATALOGUE)


def test_every_domain_error_code_has_a_chinese_detail() -> None:
    codes = {cls.code for cls in DomainError.__subclasses__()}
    assert codes <= set(PROBLEMS)


def test_accept_language_picks_the_weightiest_of_zh_and_en() -> None:
    assert accepted("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert accepted("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert accepted("fr-FR,zh-Hans;q=0.5") == "zh"
    assert accepted("en;q=0.2, zh;q=0.7") == "zh"
    assert accepted("fr, de") is None
    assert accepted("zh;q=0, en;q=0.1") == "en"
    assert accepted("") is None
    assert language("en", "zh-CN") == "en"
    assert language(None, None) == "zh"
    assert language("xx", None) == "zh"


def test_unknown_values_name_themselves_and_known_ones_are_translated() -> None:
    assert label("category", "new_kind", "zh") == "new_kind"
    assert label("step", "pre-consult", "zh") == "会前沟通"
    assert label("step", "pre-consult", "en") == "Pre-consult"
    assert text("kpi.of", "zh", numerator=3, denominator=7) == "3 / 7"


def test_a_summary_falls_back_to_the_recorded_english_one() -> None:
    assert summary("CaseClosed", {"resolution": "resolved"}, "case closed: resolved",
                   "zh") == "办结：已解决"
    assert summary("CaseClosed", {}, "case closed: resolved", "zh") == "case closed: resolved"
    assert summary("CaseClosed", {"resolution": "resolved"}, "recorded", "en") == "recorded"


def test_problem_texts() -> None:
    assert problem_text("invalid_transition", 409, "x", "zh")[0] == "冲突"
    assert problem_text("invalid_transition", 409, "x", "en") == ("Conflict", "x")
    assert problem_text("no_such_code", 418, "as raised", "zh") == ("错误", "as raised")


def test_percentages_round_half_up_to_one_decimal() -> None:
    assert formats.percent(0.12345) == "12.3%"
    assert formats.percent(0.1235) == "12.4%"  # half up, where binary floats round down
    assert formats.percent(0.00125) == "0.1%"
    assert formats.percent(1.0) == "100.0%"
    assert formats.percent(0.0) == "0.0%"
    assert formats.percent(None, "en") == "—"
    assert formats.percent(3 / 7) == "42.9%"
    assert formats.change(0.5, 0.25) == "+25.0"
    assert formats.change(0.25, 0.5) == "-25.0"
    assert formats.change(0.25, None) is None


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_a_percentage_is_the_fraction_rounded_half_up(numerator: int, denominator: int) -> None:
    rate = numerator / denominator
    shown = Decimal(formats.percent(rate).rstrip("%"))
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    assert abs(shown - exact) <= Decimal("0.05") + Decimal("1e-9")


def test_durations_in_days_and_hours() -> None:
    assert formats.duration(3 * 86400 + 4 * 3600 + 59 * 60) == "3 天 4 小时"
    assert formats.duration(5 * 3600, "en") == "5 h"
    assert formats.duration(59 * 60) == "不到 1 小时"
    assert formats.duration(2 * 86400, "en") == "2 d 0 h"
    assert formats.duration(None) == "—"


def test_times_in_china_time_with_the_zone() -> None:
    moment = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    assert formats.china_time(moment) == "2026-03-02 01:30 北京时间"
    assert formats.china_time(moment.isoformat(), "en") == "2026-03-02 01:30 China time"
    assert formats.month_of(moment) == "2026-03"
    start, end = formats.month_bounds("2026-12")
    assert start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert end.isoformat() == "2027-01-01T00:00:00+08:00"
    assert formats.month_label("2026-03", "zh") == "2026年3月"
    assert formats.month_label("2026-03", "en") == "March 2026"


def test_a_refusal_before_the_app_speaks_chinese_too() -> None:
    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the guard answers first")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/cases", "headers": [
        (b"content-length", b"999999"), (b"accept-language", b"zh-CN,zh;q=0.9")]}
    guard = BodyGuard(app, max_bytes=10, max_depth=5)  # type: ignore[arg-type]
    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()  # type: ignore[arg-type]
    body = next(m["body"] for m in sent if m["type"] == "http.response.body")
    assert b'"code":"body_too_large"' in body  # type: ignore[operator]
    assert "请求体过大".encode() in body  # type: ignore[operator]
