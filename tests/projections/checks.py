"""Comparing the projections' answers with the reference, figure by figure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.application import Cases
from projections import queries
from projections.queries import Scope
from tests.projections import reference

SCOPES = [(set(), set()), ({"JX"}, set()), (set(), {"C2"}), ({"HY"}, {"C1"})]
GROUPINGS: list[tuple[list[str], str | None]] = [
    ([], None),
    (["compound_id"], None),
    (["category", "channel"], None),
    (["community_id", "period"], "day"),
    (["period"], "week"),
    (["period"], "month"),
    (["period"], "quarter"),
    (["assignee_role", "period"], "year"),
    (["grid_id"], None),
    (["grid_id", "category"], None),
]


def same(actual: Any, expected: Any, where: str = "") -> None:
    """Every field of ``expected`` is in ``actual`` with the same value (floats approximately)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            same(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), (
            f"{where}: {len(actual)} items, expected {len(expected)}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-6), where
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def moments(tls: list[reference.Timeline], now: datetime) -> list[datetime]:
    """Interesting as_of values: before anything, at and between events, and now."""
    times = sorted({e.recorded_at for t in tls for e in t.events})
    picked = [times[0] - timedelta(seconds=1)] if times else []
    for i in range(0, len(times), max(1, len(times) // 4)):
        picked.append(times[i])
        picked.append(times[i] + timedelta(minutes=1))
    picked.append(now)
    return picked


def assert_equal_to_reference(app: Cases) -> None:
    """Every projection answer equals the reference's, at several moments and in every way."""
    tls = reference.timelines(app)
    now = app.clock.now()
    listed = queries.list_cases(app, limit=1000, sort="position")
    assert listed["count"] == len(tls)
    same(sorted(listed["data"], key=lambda r: r["id"]), reference.case_list(app, tls, now),
         "cases")
    trail = queries.audit(app, limit=1000)
    rows = list(trail["data"])
    while trail["next_after"] is not None:
        trail = queries.audit(app, limit=1000, after=trail["next_after"])
        rows.extend(trail["data"])
    same(rows, reference.audit(tls), "audit")
    assert trail["position"] == app.head_position() == listed["position"]
    times = moments(tls, now)
    reported = sorted(t.reported_at for t in tls)
    windows: list[dict[str, Any]] = [{}]
    if len(reported) > 2:
        windows.append({"from_": reported[1], "to": reported[-1]})
        windows.append({"compound": "JX", "category": "facilities"})
        windows.append({"channel": "phone", "to": reported[len(reported) // 2]})
    combos = [(m, SCOPES[i % len(SCOPES)], windows[i % len(windows)], GROUPINGS)
              for i, m in enumerate(times)]
    combos += [(now, scope, window, GROUPINGS[:2]) for scope in SCOPES for window in windows]
    for moment, scope, window, groupings in combos:
        reader = Scope(frozenset(scope[0]), frozenset(scope[1]))
        where = f"as_of={moment} scope={scope} window={window}"
        same(queries.steps(app, reader, as_of=moment, **window),
             reference.steps(app, tls, moment, scope, window), "steps " + where)
        for names, period in groupings:
            got = queries.closure(app, reader, group_by=names, period=period,
                                  as_of=moment, **window)
            same(got["groups"],
                 reference.closure(app, tls, moment, names, period, scope, window),
                 f"closure {names} {period} {where}")
            got = queries.satisfaction(app, reader, group_by=names, period=period,
                                       as_of=moment, **window)
            same(got["groups"],
                 reference.satisfaction(app, tls, moment, names, period, scope, window),
                 f"satisfaction {names} {period} {where}")
