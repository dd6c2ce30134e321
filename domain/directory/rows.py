"""Checking the directory's import rows (目录校验): every problem of every row, by line.

Each row is checked against the directory as it is and the other rows of the same file
(a parent may be registered by the same import), and against the admin's scope: a scoped
admin changes units within its scope and puts new ones beneath it; streets and providers
are the district's (docs/adr/0070-scope-model.md, 0071-directory.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.directory.csvfile import UnitRow
from domain.directory.model import CODE, MAX_HOUSEHOLDS, PARENT_LEVELS, Level, ProviderKind
from domain.directory.view import DirectoryView, Named
from domain.errors import DirectoryRefused, article
from domain.model import Actor

MAX_NAME = 100
HINT = "register it first (yishi directory import FILE.csv, or POST /directory/units)"


@dataclass(frozen=True)
class Checked:
    row: UnitRow
    level: Level
    households: int | None

    @property
    def code(self) -> str:
        return self.row.code


def bad_text(value: str, limit: int = MAX_NAME) -> bool:
    return not value or len(value) > limit or any(
        ord(ch) < 32 or ch in "\x7f\u2028\u2029" for ch in value
    )


def check_rows(rows: Sequence[UnitRow], view: DirectoryView, actor: Actor) -> list[Checked]:
    """Every problem of every row, or the rows checked."""
    errors: list[dict[str, object]] = []
    levels: dict[str, Level] = {code: unit.level for code, unit in view.units.items()}
    for row in rows:
        if row.level in {lv.value for lv in Level} and CODE.fullmatch(row.code):
            levels.setdefault(row.code, Level(row.level))
    seen: dict[str, int] = {}
    checked = []
    for row in rows:
        problems = _problems(row, view, levels, seen)
        if not problems and not actor.is_district_wide and not _in_scope(row, view, actor, rows):
            problems = [("code", f"{row.code} is outside this credential's scope")]
        errors.extend({"line": row.line, "field": f, "message": m} for f, m in problems)
        if not problems:
            households = int(row.households) if row.households else None
            checked.append(Checked(row, Level(row.level), households))
    if errors:
        raise DirectoryRefused(errors)
    return checked


def _problems(row: UnitRow, view: DirectoryView, levels: dict[str, Level],
              seen: dict[str, int]) -> list[tuple[str, str]]:
    """What is wrong with one row, as (field, message) pairs."""
    if row.level not in {lv.value for lv in Level}:
        return [("level", f"one of {', '.join(lv.value for lv in Level)}")]
    if not CODE.fullmatch(row.code):
        return [("code", "1 to 32 of A-Z a-z 0-9 _ -")]
    level = Level(row.level)
    found: list[tuple[str, str]] = []
    if row.code in seen:
        found.append(("code", f"{row.code} is already on line {seen[row.code]}"))
    seen[row.code] = row.line
    registered = view.get(row.code)
    if registered is not None and registered.level is not level:
        found.append(("level", f"{row.code} is registered as a {registered.level.value}"))
    if bad_text(row.name):
        found.append(("name", f"1 to {MAX_NAME} characters, one line"))
    if row.name_en and bad_text(row.name_en):
        found.append(("name_en", f"at most {MAX_NAME} characters, one line"))
    found.extend(_parent_problems(row, level, levels))
    if row.households and (not row.households.isdigit()
                           or int(row.households) > MAX_HOUSEHOLDS):
        found.append(("households", f"a whole number from 0 to {MAX_HOUSEHOLDS}"))
    if level is Level.PROVIDER:
        if row.kind not in {k.value for k in ProviderKind} and (
            registered is None or "kind" in row.present
        ):
            found.append(("kind", "property_company or owners_committee"))
    elif row.kind:
        found.append(("kind", "only a provider has a kind"))
    if (row.provider or row.provider_from) and level is not Level.COMPOUND:
        found.append(("provider", "only a compound has a provider"))
    if row.provider and levels.get(row.provider) is not Level.PROVIDER:
        found.append(("provider", f"{row.provider} is not a registered provider; {HINT}"))
    if row.provider_from and not _is_day(row.provider_from):
        found.append(("provider_from", "a day YYYY-MM-DD from 2000-01-01 to 2099-12-31"))
    return found


def _parent_problems(row: UnitRow, level: Level, levels: dict[str, Level]
                     ) -> list[tuple[str, str]]:
    allowed = PARENT_LEVELS[level]
    names = " or ".join(a.value for a in allowed)
    if not allowed:
        return [("parent", f"{article(level.value)} has no parent")] if row.parent else []
    if not row.parent:
        return [("parent", f"{article(level.value)} needs a parent ({names})")]
    found = levels.get(row.parent)
    if found not in allowed:
        why = f" (it is a {found.value})" if found else f"; {HINT}"
        return [("parent", f"{row.parent} is not a registered {names}{why}")]
    return []


def _in_scope(row: UnitRow, view: DirectoryView, actor: Actor, rows: Sequence[UnitRow]
              ) -> bool:
    """A scoped admin changes a unit within its scope, and puts units only beneath it;
    streets and providers are the district's."""
    if row.level in (Level.STREET.value, Level.PROVIDER.value):
        return False
    registered = view.get(row.code)
    # An existing unit by where it is now (never by a parent the rows give it).
    if registered is not None and not view.within(row.code, actor.units):
        return False
    if registered is None or (row.parent or None) != registered.parent:
        return bool(row.parent) and _within_batch(row.parent, actor.units, view, rows)
    return True


def _within_batch(code: str, named: frozenset[Named], view: DirectoryView,
                  rows: Sequence[UnitRow]) -> bool:
    """``code`` lies within ``named``, following parents through the view and the rows."""
    parents = {code: unit.parent for code, unit in view.units.items()}
    parents.update({row.code: row.parent or None for row in rows})
    codes = {c for _, c in named}
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current not in seen:
        if current in codes:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _is_day(text: str) -> bool:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10 and date(2000, 1, 1) <= day <= date(2099, 12, 31)
