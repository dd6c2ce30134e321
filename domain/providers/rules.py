"""Who may record a provider's events, and what their data holds (服务单位事件规则).

One table beside the case permissions (domain/rules.py), as practices.md asks: streets
(街道) register, rate, summon and replace providers; a community rates the providers of
its compounds; an admin registers providers and replaces them as the directory's manager.
``provider_refusal`` is the one place the table is narrowed by scope. ``check_data``
validates each event's data and returns it normalised, or raises ``InvalidEventData``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.bounds import check_code, clean_text
from domain.errors import InvalidEventData
from domain.model import Actor, Role

R = Role
#: The replacement (更换) is the directory's event, recorded through the providers' API.
REPLACEMENT = "ProviderAssigned"
#: Who may record each provider event (practices.md, domain.md "Roles added").
PROVIDER_PERMISSIONS: dict[str, frozenset[Role]] = {
    "ProviderRegistered": frozenset({R.ADMIN, R.STREET}),
    "ProviderRated": frozenset({R.STREET, R.COMMUNITY}),
    "ProviderSummoned": frozenset({R.STREET}),
    REPLACEMENT: frozenset({R.STREET, R.ADMIN}),
}
PROVIDER_EVENTS: tuple[str, ...] = tuple(PROVIDER_PERMISSIONS)
MAX_TEXT = 4000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def provider_refusal(event_type: str, actor: Actor, in_scope: bool) -> str | None:
    """Why the actor may not record the event, or None. ``in_scope``: the provider serves
    or served a compound within the actor's scope (for a replacement: the compound lies
    within it). Registration needs no compound: a new provider serves none yet."""
    roles = PROVIDER_PERMISSIONS[event_type]
    if actor.role not in roles:
        return "allowed roles are " + ", ".join(sorted(roles))
    if event_type != "ProviderRegistered" and not in_scope:
        return "the provider serves no compound within this credential's scope"
    return None


def parse_month(value: object) -> str:
    """``YYYY-MM`` from 2000-01 to 2099-12; ValueError otherwise."""
    if not isinstance(value, str) or not (m := _MONTH.match(value)):
        raise ValueError("must be a month YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    if not (2000 <= year <= 2099 and 1 <= month <= 12):
        raise ValueError("must be a month from 2000-01 to 2099-12")
    return value


def parse_day(value: object) -> str:
    """``YYYY-MM-DD`` from 2000-01-01 to 2099-12-31; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("must be a day YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a day YYYY-MM-DD") from None
    if not 2000 <= day.year <= 2099:
        raise ValueError("must be a day from 2000-01-01 to 2099-12-31")
    return day.isoformat()


def _text(value: object, *, required: bool) -> str | None:
    if value is None or (value == "" and not required):
        if required:
            raise ValueError("is required")
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if "\x00" in value:
        raise ValueError("must be text without NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be text without unpaired surrogates") from None
    text = clean_text(value).strip()
    if required and not text:
        raise ValueError("must not be empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text or None


def _score(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError("must be an integer from 0 to 100")
    return value


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31:
        raise ValueError("must be a stream version from 1")
    return value


def _code(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return check_code(value)


_FIELDS: dict[str, dict[str, tuple[bool, Any]]] = {
    # field -> (required, checker)
    "ProviderRegistered": {},
    "ProviderRated": {"month": (True, parse_month), "score": (True, _score),
                      "comment": (False, lambda v: _text(v, required=False))},
    "ProviderSummoned": {"date": (True, parse_day),
                         "reason": (True, lambda v: _text(v, required=True)),
                         "outcome": (False, lambda v: _text(v, required=False))},
    REPLACEMENT: {"compound": (True, _code), "from": (True, parse_day),
                  "summons_version": (False, _version),
                  "note": (False, lambda v: _text(v, required=False))},
}


def check_data(event_type: str, data: object) -> dict[str, Any]:
    """The event's data checked and normalised (optional fields absent or null left out).

    ``ProviderRegistered`` takes no fields: its code, name and kind come from the directory.
    Raises ``InvalidEventData`` naming every bad field (422).
    """
    if event_type not in _FIELDS:
        raise InvalidEventData(event_type, {"type": "one of " + ", ".join(PROVIDER_EVENTS)})
    if not isinstance(data, Mapping):
        raise InvalidEventData(event_type, {"data": "must be an object"})
    fields = _FIELDS[event_type]
    errors: dict[str, str] = {}
    for key in data:
        if key not in fields:
            errors[str(key)] = f"is not a field of {event_type}" + (
                " (set from the directory)" if event_type == "ProviderRegistered" else "")
    clean: dict[str, Any] = {}
    for name, (required, check) in fields.items():
        value = data.get(name)
        if value is None:
            if required:
                errors[name] = "is required"
            continue
        try:
            checked = check(value)
        except ValueError as error:
            errors[name] = str(error)
            continue
        if checked is not None:
            clean[name] = checked
    if errors:
        raise InvalidEventData(event_type, errors)
    return clean
