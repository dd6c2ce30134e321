"""The event catalogue: every event type and the shape of its data (事件目录).

This is the single description of what each event carries. The domain validates data
against it, the HTTP layer builds its request models from it, and the projections read
fields by these names. Field names marked in domain.md as contract fields never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.bounds import check_code, check_integer, check_time, clean_text, parse_time
from domain.errors import InvalidEventData
from domain.model import Resolution, Role
from domain.rules import figure_errors


class Category(StrEnum):
    SANITATION = "sanitation"  # 环境卫生
    SECURITY = "security"  # 治安
    PARKING = "parking"  # 停车
    FACILITIES = "facilities"  # 设施
    GREENING = "greening"  # 绿化
    PROPERTY_FEES = "property_fees"  # 物业费
    NEIGHBOUR_DISPUTE = "neighbour_dispute"  # 邻里纠纷
    SAFETY = "safety"  # 安全
    OTHER = "other"


class Channel(StrEnum):
    WALK_IN = "walk_in"  # 来访
    PHONE = "phone"  # 电话
    WECHAT = "wechat"  # 微信群
    GRID_PATROL = "grid_patrol"  # 网格巡查
    SNAPSHOT = "snapshot"  # 随手拍
    API = "api"
    # Patrols and visits (两巡两访, practices.md "Joint meetings and patrols"; ADR 0113).
    PROPERTY_PATROL = "property_patrol"  # 物业巡查
    HOUSEHOLD_VISIT = "household_visit"  # 入户走访


class Party(StrEnum):
    """A party present at a joint meeting (联席会议, "1+N"; practices.md)."""

    COMMUNITY = "community"  # 社区
    PARTY_BRANCH = "party_branch"  # 党支部
    OWNERS_COMMITTEE = "owners_committee"  # 业委会
    PROPERTY_COMPANY = "property_company"  # 物业公司
    POLICE = "police"  # 派出所, 社区民警
    HOUSING_OFFICE = "housing_office"  # 房管部门
    CO_BUILDING_UNIT = "co_building_unit"  # 共建单位
    RESIDENTS_REPRESENTATIVE = "residents_representative"  # 居民代表


class Kind(StrEnum):
    TEXT = "text"
    CODE = "code"  # a unit code: [A-Za-z0-9_-]{1,32}
    INT = "int"
    CHOICE = "choice"
    DATETIME = "datetime"
    UUID = "uuid"
    TEXTS = "texts"  # a list of short texts
    VOTES = "votes"  # {"for": int, "against": int, "abstain": int}
    CHOICES = "choices"  # a list of values from ``choices``, each at most once
    CONTACT = "contact"  # {"name": str, "phone": str}: personal data, stored encrypted
    UUIDS = "uuids"  # a list of UUIDs (participation points: attendee_ids)


@dataclass(frozen=True)
class Field:
    """One field of an event's data."""

    kind: Kind
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    max_length: int = 500
    minimum: int | None = None
    maximum: int | None = None
    max_items: int = 50
    one_line: bool = False  # a title: no line breaks, tabs or bidirectional controls


def _choices(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def text(description: str, *, required: bool = True, max_length: int = 500) -> Field:
    return Field(Kind.TEXT, description, required=required, max_length=max_length)


def title(description: str) -> Field:
    """A one-line text of at most 200 characters (docs/adr/0041-bounds.md)."""
    return Field(Kind.TEXT, description, max_length=200, one_line=True)


def code(description: str, *, required: bool = True) -> Field:
    """A unit code matching ``[A-Za-z0-9_-]{1,32}`` (docs/adr/0041-bounds.md)."""
    return Field(Kind.CODE, description, required=required, max_length=32)


def choice(description: str, values: tuple[str, ...], *, required: bool = True) -> Field:
    return Field(Kind.CHOICE, description, required=required, choices=values)


def integer(
    description: str, *, maximum: int, minimum: int = 0, required: bool = True
) -> Field:
    """An integer in ``[minimum, maximum]``: every integer field has its range (domain.md,
    "Ranges"), always within ±(2^53−1)."""
    return Field(Kind.INT, description, required=required, minimum=minimum, maximum=maximum)


def choices(description: str, values: tuple[str, ...], *, required: bool = False) -> Field:
    """A list of distinct values from ``values`` (the joint meeting's parties)."""
    return Field(Kind.CHOICES, description, required=required, choices=values,
                 max_items=len(values))


def texts(description: str, *, required: bool = False) -> Field:
    return Field(Kind.TEXTS, description, required=required, max_length=500)


LONG = 4000
#: Ranges of domain.md ("Ranges").
MAX_PEOPLE = 100_000  # attendees, each count of votes, households
MAX_FEN = 10**12  # any amount in fen (分)
ASSIGNEE_ROLES: tuple[str, ...] = (
    Role.PROPERTY_COMPANY.value,
    Role.OWNERS_COMMITTEE.value,
    Role.COMMUNITY.value,
)
REJECTION_REASONS = ("out_of_scope", "duplicate", "insufficient_information", "referred")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
RATING_SOURCES = ("resident", "callback")

#: Every event type with its data fields, in the order of the eight steps.
CATALOGUE: dict[str, dict[str, Field]] = {
    "ProblemReported": {
        "compound_id": code("Code of the residential compound (小区)"),
        "community_id": code(
            "Code of the community (社区) the compound belongs to: the directory's; may be"
            " left out, and must match it when given",
            required=False,
        ),
        "title": title("Short title of the problem, one line"),
        "description": text("What the problem is", max_length=LONG),
        "category": choice("Category of the problem", _choices(Category)),
        "channel": choice("How the problem reached us (来源渠道)", _choices(Channel)),
        "location": text("Where: building, unit, place", required=False, max_length=200),
        "reporter": Field(
            Kind.CONTACT,
            "The reporting resident's name and phone: personal data, stored encrypted",
            required=False,
        ),
        "attachments": texts("References to photos or documents"),
        # Grid teams (issue 14, docs/adr/0115): stamped by the server, never chosen.
        "grid": code(
            "The grid (网格) of the grid worker who reported it: stamped by the server from"
            " the credential; a body may name only that grid",
            required=False,
        ),
    },
    "ReportMerged": {
        "source_case_id": Field(
            Kind.UUID, "The duplicate case that joined this one", required=False
        ),
        "note": text("How the report joins this case", required=False),
        "reports": integer(
            "How many reports join: the merged duplicate's own support count, set by the merge"
            " (CaseMerged), never by a client; events stored without it count one",
            minimum=1, maximum=1_000_000, required=False,
        ),
    },
    "ProblemCollected": {
        "category": choice("Confirmed category", _choices(Category)),
        "description": text("Consolidated description (问题核实)", max_length=LONG),
        # Grid teams (issue 14, docs/adr/0115): stamped by the server, never chosen.
        "grid": code(
            "The grid (网格) of the grid worker who collected it: stamped by the server from"
            " the credential; a body may name only that grid",
            required=False,
        ),
    },
    "CaseMerged": {
        "into_case_id": Field(Kind.UUID, "The open case this one duplicates"),
        "note": text("Why the cases are the same", required=False),
    },
    "TopicFormed": {
        "title": title("Title of the topic for deliberation (议题), one line"),
        "question": text("The question to decide", max_length=LONG),
        "parties": texts("Parties concerned (相关方)"),
    },
    "TopicApproved": {"opinion": text("Reviewer's opinion (审核意见)", required=False)},
    "TopicReturned": {"rework": text("What to rework before review again")},
    "TopicRejected": {
        "reason": choice("Why the topic is rejected", REJECTION_REASONS),
        "referred_to": text(
            "The body the matter is referred to; required when reason is referred",
            required=False,
        ),
        "note": text("Explanation for the reporter", required=False),
    },
    "StakeholderConsulted": {
        "party": text("The party consulted (相关方)"),
        "representative": text("Who spoke for the party", required=False),
        "opinion": text("What they said", max_length=LONG),
    },
    "MeetingScheduled": {
        "scheduled_at": Field(Kind.DATETIME, "When the deliberation meeting takes place"),
        "venue": text("Where it takes place"),
        "invited": texts("Parties invited"),
    },
    "MeetingHeld": {
        "attendees": integer("Number of attendees", maximum=MAX_PEOPLE),
        "votes": Field(Kind.VOTES, "Votes for, against, abstaining"),
        "outcome": choice("agreed when more voted for than against", ("agreed", "not_agreed")),
        "resolution_text": text(
            "The resolution as agreed (协商决议)", required=False, max_length=LONG
        ),
        # Participation points (practices.md): optional, so today's clients keep working.
        "attendee_ids": Field(
            Kind.UUIDS,
            "Participant ids of attendees who earn points for attending (积分制)",
            required=False, max_items=500,
        ),
        # Joint meetings (联席会议): optional, so clients of the earlier contract keep working.
        "parties": choices("The parties present (联席会议 1+N), each once", _choices(Party)),
    },
    "DecisionPublished": {
        "channels": texts("Where it is published: notice board, WeChat group", required=True),
        "notice": text("The notice text (公示内容)", max_length=LONG),
        "publicity_days": integer("Whole days of the publicity period (公示期)", maximum=365),
    },
    "ObjectionRaised": {"objection": text("The objection (异议)", max_length=LONG)},
    "PublicityClosed": {"note": text("How objections were handled", required=False)},
    "ImplementationAssigned": {
        "assignee_role": choice("Which party is responsible (派单)", ASSIGNEE_ROLES),
        "assignee": text("The responsible organisation or person"),
        "due_at": Field(Kind.DATETIME, "When the work is due"),
        "funding_sources": texts("Funding: owners' committee, donations, government award"),
        # Issue 13 (docs/adr/0092-order-attribution.md): set by the server from the directory.
        "provider_code": code(
            "The provider the order is charged to: set by the server from the directory (the"
            " provider of the assignee_role's kind serving the compound now, or null); a body"
            " naming another provider is refused",
            required=False,
        ),
    },
    "ImplementationAccepted": {"note": text("Taking the order (领单)", required=False)},
    "ProgressReported": {
        "percent": integer("Work done, in percent", maximum=100),
        "note": text("Progress note", required=False, max_length=LONG),
        "evidence": texts("References to photos or documents"),
    },
    "ImplementationCompleted": {
        "summary": text("What was done", max_length=LONG),
        "cost_fen": integer("Cost in fen (分)", maximum=MAX_FEN, required=False),
        "evidence": texts("References to photos or documents"),
    },
    "SupervisionRecorded": {
        "verdict": choice("The supervisor's verdict (党员督单)", ("passed", "failed")),
        "note": text("Supervision note", required=False, max_length=LONG),
    },
    "ResidentRated": {
        "satisfaction": choice("How satisfied the resident is (群众评单)", SATISFACTION),
        "source": choice(
            "resident rates directly; callback is a call-back by staff (回访)", RATING_SOURCES
        ),
        "resident_id": text(
            "Whose rating it is; required for a callback, the actor for a resident",
            required=False,
            max_length=128,
        ),
        "comment": text("Comment", required=False, max_length=LONG),
    },
    "CaseClosed": {
        "resolution": choice(
            "resolved after a passed supervision; no_consensus after deliberation",
            (Resolution.RESOLVED.value, Resolution.NO_CONSENSUS.value),
        ),
        "note": text("Closing note", required=False, max_length=LONG),
    },
    "CaseReopened": {"reason": text("Why the resolved case is reopened", max_length=LONG)},
    "CaseWithdrawn": {"reason": text("Why the case is withdrawn", required=False)},
    "CommentAdded": {"text": text("The comment", max_length=LONG)},
}

EVENT_TYPES: tuple[str, ...] = tuple(CATALOGUE)


def parse_datetime(value: object) -> datetime:
    """A stored time (RFC 3339 text or datetime) as an aware datetime in UTC. For times
    already stored: new input goes through ``input_time``, which also checks the bounds."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("not an RFC 3339 time") from None
    else:
        raise ValueError("not an RFC 3339 time")
    if parsed.tzinfo is None:
        raise ValueError("a time needs a time zone")
    return parsed.astimezone(UTC)


def input_time(value: object) -> datetime:
    """A time a client sent (RFC 3339 text or datetime) within the bounds of
    ``domain.bounds`` (2000-01-01 to 2100-01-01 China time), in UTC; ValueError otherwise."""
    if isinstance(value, datetime):
        return check_time(value).astimezone(UTC)
    if isinstance(value, str):
        return parse_time(value)
    raise ValueError("not an RFC 3339 time")


def canonical_time(value: datetime) -> str:
    """The one text form of a time used in stored data and in hashes."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(name: str, spec: Field, value: object, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return None
    if "\x00" in value or not _encodable(value):
        # Neither is text a reader can be shown, and PostgreSQL's text type refuses both:
        # accepted, they would stop every projection at this event.
        errors[name] = "must be text without NUL characters or unpaired surrogates"
        return None
    try:
        stripped = clean_text(value, one_line=spec.one_line).strip()
    except ValueError as error:
        errors[name] = str(error)
        return None
    if spec.required and not stripped:
        errors[name] = "must not be empty"
        return None
    if len(stripped) > spec.max_length:
        errors[name] = f"must be at most {spec.max_length} characters"
        return None
    return stripped


def _check_int(name: str, spec: Field, value: object, errors: dict[str, str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = "must be an integer"
        return None
    try:
        return check_integer(value, spec.minimum, spec.maximum)
    except ValueError as error:
        errors[name] = str(error)
        return None


def _check_value(name: str, spec: Field, value: object, errors: dict[str, str]) -> Any:
    if spec.kind is Kind.TEXT:
        return _check_text(name, spec, value, errors)
    if spec.kind is Kind.CODE:
        if not isinstance(value, str):
            errors[name] = "must be a string"
            return None
        try:
            return check_code(value)
        except ValueError as error:
            errors[name] = str(error)
            return None
    if spec.kind is Kind.INT:
        return _check_int(name, spec, value, errors)
    if spec.kind is Kind.CHOICE:
        if value not in spec.choices:
            errors[name] = "must be one of " + ", ".join(spec.choices)
            return None
        return str(value)
    if spec.kind is Kind.DATETIME:
        try:
            return canonical_time(input_time(value))
        except ValueError as error:
            errors[name] = str(error)
            return None
    if spec.kind is Kind.UUID:
        try:
            return str(UUID(str(value)))
        except ValueError:
            errors[name] = "must be a UUID"
            return None
    if spec.kind is Kind.TEXTS:
        if not isinstance(value, list) or len(value) > spec.max_items:
            errors[name] = f"must be a list of at most {spec.max_items} strings"
            return None
        items = [_check_text(f"{name}[{i}]", spec, item, errors) for i, item in enumerate(value)]
        return items if all(item is not None for item in items) else None
    if spec.kind is Kind.VOTES:
        return _check_object(name, value, _VOTE_FIELDS, errors)
    if spec.kind is Kind.UUIDS:  # participation points (attendee_ids)
        if not isinstance(value, list) or len(value) > spec.max_items:
            errors[name] = f"must be a list of at most {spec.max_items} UUIDs"
            return None
        try:
            return list(dict.fromkeys(str(UUID(str(item))) for item in value))
        except ValueError:
            errors[name] = "must be a list of UUIDs"
            return None
    if spec.kind is Kind.CHOICES:
        if (not isinstance(value, list) or len(value) > spec.max_items
                or any(item not in spec.choices for item in value)
                or len(set(value)) != len(value)):
            errors[name] = "must be a list of distinct values from " + ", ".join(spec.choices)
            return None
        return [str(item) for item in value]
    return _check_object(name, value, _CONTACT_FIELDS, errors)


_VOTE_FIELDS = {
    key: integer(f"votes {key}", maximum=MAX_PEOPLE) for key in ("for", "against", "abstain")
}
_CONTACT_FIELDS = {
    "name": text("Reporter's name", max_length=100),
    "phone": text("Reporter's phone", max_length=32),
}


def _check_object(
    name: str, value: object, fields: dict[str, Field], errors: dict[str, str]
) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        errors[name] = "must be an object with " + ", ".join(fields)
        return None
    unknown = set(value) - set(fields)
    if unknown:
        errors[name] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
        return None
    result = {}
    for key, spec in fields.items():
        if key not in value:
            errors[f"{name}.{key}"] = "is required"
            continue
        result[key] = _check_value(f"{name}.{key}", spec, value[key], errors)
    return result


def validate_data(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check data against the catalogue and return it normalised (texts stripped, times UTC).

    Raises InvalidEventData naming every bad field. Optional fields that are absent or null
    are left out, so the stored form has one spelling for "not given".
    """
    fields = CATALOGUE[event_type]
    errors: dict[str, str] = {}
    if not isinstance(data, Mapping):
        raise InvalidEventData(event_type, {"data": "must be an object"})
    for key in data:
        if key not in fields:
            errors[str(key)] = "is not a field of " + event_type
    result: dict[str, Any] = {}
    for name, spec in fields.items():
        value = data.get(name)
        if value is None or (spec.kind is Kind.TEXT and not spec.required and value == ""):
            if spec.required:
                errors[name] = "is required"
            continue
        checked = _check_value(name, spec, value, errors)
        if name not in errors and not any(k.startswith(name + ".") for k in errors):
            result[name] = checked
    if not errors:
        errors = figure_errors(event_type, result)
    if errors:
        raise InvalidEventData(event_type, errors)
    return result
