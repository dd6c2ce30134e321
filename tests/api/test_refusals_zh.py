"""A zh reader of a refusal gets its reason in Chinese (api/i18n/refusals.py): every reason
the domain can give has a translation, and the problem's ``detail`` carries it, while the
English ``rule``/``reason`` members stay for programs."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.i18n import problem_text
from api.i18n.refusals import refusal_zh
from domain.model import Step
from tests.api.conftest import LiveServer, Tokens, make_tokens
from tests.stories import advance, open_case

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = {"RuleViolated", "PermissionDenied"}


def _reasons() -> set[str]:
    """Every fixed reason in the domain: strings returned by domain/rules.py's functions
    and the reason argument of each RuleViolated/PermissionDenied raised in domain/."""
    found: set[str] = set()
    for path in (ROOT / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (path.name == "rules.py" and isinstance(node, ast.Return)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                found.add(node.value.value)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in REFUSALS and len(node.args) == 3
                    and isinstance(node.args[2], ast.Constant)):
                found.add(node.args[2].value)
    return found


def test_every_fixed_reason_of_the_domain_has_a_chinese_translation() -> None:
    reasons = _reasons()
    assert len(reasons) >= 20, reasons  # the scan finds them
    missing = sorted(r for r in reasons if refusal_zh(r) is None)
    assert missing == []


@pytest.mark.parametrize(("english", "chinese"), [
    ("allowed roles are community, grid_worker", "可以记录的角色:社区、网格员"),
    ("the implementation is assigned to property_company", "实施已派给物业公司"),
    ("the publicity period runs until 2026-05-08T09:00:00+00:00",
     "公示期至 2026-05-08T09:00:00+00:00"),
])
def test_reasons_with_a_value_are_translated_around_it(english: str, chinese: str) -> None:
    assert refusal_zh(english) == chinese


def test_an_unknown_reason_keeps_its_english_after_the_chinese_message() -> None:
    _title, detail = problem_text("rule_violated", 409, "x", "zh", "a rule added yesterday")
    assert detail == "这个事件违反了议事规则:a rule added yesterday。"


#: A meeting whose outcome contradicts its votes: refused by a rule (409).
MISCOUNTED = {"type": "MeetingHeld", "data": {
    "attendees": 12, "votes": {"for": 2, "against": 9, "abstain": 1}, "outcome": "agreed"}}


def _refused_meeting(server: LiveServer, clock: Any) -> tuple[Any, dict[str, Any]]:
    case_id = open_case(server.cases)
    advance(server.cases, clock, case_id, Step.NEGOTIATE)
    return case_id, MISCOUNTED


@pytest.fixture
def live(sqlite_server: LiveServer, client_for: Any) -> tuple[LiveServer, httpx.Client, Tokens]:
    return sqlite_server, client_for(sqlite_server), make_tokens(sqlite_server)


def test_a_refusal_over_http_reads_in_the_readers_language(
    live: tuple[LiveServer, httpx.Client, Tokens], clock: Any,
) -> None:
    server, client, tokens = live
    case_id, body = _refused_meeting(server, clock)
    answers = {lang: client.post(f"/cases/{case_id}/events", json=body, headers={
        **tokens.community.headers, "Accept-Language": lang}) for lang in ("zh-CN", "en")}
    zh, en = answers["zh-CN"].json(), answers["en"].json()
    assert answers["zh-CN"].status_code == 409, zh
    assert zh["rule"] == en["rule"]  # the English reason stays for programs
    assert zh["detail"].startswith("这个事件违反了议事规则:")
    assert refusal_zh(zh["rule"]) in zh["detail"]
    assert en["detail"].endswith(en["rule"])
    forbidden = client.post(f"/cases/{case_id}/events", json=body, headers={
        **tokens.resident.headers, "Accept-Language": "zh"})
    assert forbidden.status_code == 403, forbidden.text
    assert "可以记录的角色:" in forbidden.json()["detail"]


def test_a_replayed_refusal_reads_in_the_language_of_whoever_asks_now(
    live: tuple[LiveServer, httpx.Client, Tokens], clock: Any,
) -> None:
    server, client, tokens = live
    case_id, body = _refused_meeting(server, clock)
    headers = {**tokens.community.headers, "Idempotency-Key": "zh-then-en"}
    first = client.post(f"/cases/{case_id}/events", json=body,
                        headers={**headers, "Accept-Language": "en"})
    again = client.post(f"/cases/{case_id}/events", json=body,
                        headers={**headers, "Accept-Language": "zh"})
    assert first.status_code == again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Language"] == "zh"
    assert refusal_zh(first.json()["rule"]) in again.json()["detail"]
    assert {k: v for k, v in again.json().items() if k not in ("title", "detail")} == {
        k: v for k, v in first.json().items() if k not in ("title", "detail")}
