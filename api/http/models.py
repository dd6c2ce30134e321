"""Wire models: request models built from the domain catalogue, and response models.

The request models are generated from ``domain.catalogue.CATALOGUE`` so the schema exists
once: each event type gets a ``<Type>Data`` model and an ``<Type>Append`` model
``{"type": "<Type>", "data": {...}}``; ``AppendEvent`` is their discriminated union on
``type``. The domain still validates every payload (it is the authority); these models
give clients an exact OpenAPI schema and reject malformed shapes early with 422.
``ProblemReported`` is not in the union: POST /cases is the one way to open a case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr, create_model

from domain.bounds import CODE_PATTERN, JSON_SAFE_INTEGER
from domain.catalogue import CATALOGUE, MAX_PEOPLE, Kind
from domain.catalogue import Field as Spec
from domain.model import STEP_NAMES_ZH, Step
from domain.rules import OPENING_EVENT, PERMISSIONS, TRANSITIONS

_FORBID = ConfigDict(extra="forbid")


class Votes(BaseModel):
    """Votes at the deliberation meeting (表决)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    for_: StrictInt = Field(alias="for", ge=0, le=MAX_PEOPLE, description="Votes for (赞成)")
    against: StrictInt = Field(ge=0, le=MAX_PEOPLE, description="Votes against (反对)")
    abstain: StrictInt = Field(ge=0, le=MAX_PEOPLE, description="Abstentions (弃权)")


class Contact(BaseModel):
    """The reporting resident's contact: personal data (个人信息), stored encrypted."""

    model_config = _FORBID
    name: StrictStr = Field(max_length=100, description="Reporter's name (姓名)")
    phone: StrictStr = Field(max_length=32, description="Reporter's phone (电话)")


def _annotation(spec: Spec) -> Any:
    if spec.kind is Kind.TEXT:
        return Annotated[StrictStr, Field(max_length=spec.max_length)]
    if spec.kind is Kind.CODE:
        return Annotated[StrictStr, Field(pattern=CODE_PATTERN, max_length=spec.max_length)]
    if spec.kind is Kind.INT:
        low = -JSON_SAFE_INTEGER if spec.minimum is None else spec.minimum
        high = JSON_SAFE_INTEGER if spec.maximum is None else spec.maximum
        return Annotated[StrictInt, Field(ge=low, le=high)]
    if spec.kind is Kind.CHOICE:
        return Literal[spec.choices]
    if spec.kind is Kind.DATETIME:
        return Annotated[AwareDatetime, Field(
            description="RFC 3339 with a zone, from 2000-01-01 to 2100-01-01 China time")]
    if spec.kind is Kind.UUID:
        return UUID
    if spec.kind is Kind.TEXTS:
        return Annotated[
            list[Annotated[StrictStr, Field(max_length=spec.max_length)]],
            Field(max_length=spec.max_items),
        ]
    if spec.kind is Kind.VOTES:
        return Votes
    if spec.kind is Kind.UUIDS:  # participation points (attendee_ids)
        return Annotated[list[UUID], Field(max_length=spec.max_items)]
    if spec.kind is Kind.CHOICES:  # distinct values (the domain checks; ADR 0113)
        item: Any = Literal[spec.choices]
        return Annotated[list[item], Field(max_length=spec.max_items)]
    return Contact


def _data_model(event_type: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, spec in CATALOGUE[event_type].items():
        annotation = _annotation(spec)
        if spec.required:
            fields[name] = (annotation, Field(description=spec.description))
        else:
            fields[name] = (annotation | None, Field(default=None, description=spec.description))
    return create_model(
        f"{event_type}Data",
        __config__=_FORBID,
        __doc__=_describe(event_type),
        **fields,
    )


def _describe(event_type: str) -> str:
    steps = [s for s, events in TRANSITIONS.items() if event_type in events]
    where = ", ".join(f"{s.value} ({STEP_NAMES_ZH[s]})" for s in steps) or "opens a case"
    roles = ", ".join(sorted(r.value for r in PERMISSIONS[event_type]))
    return f"Data of {event_type}. Allowed in: {where}. Recorded by: {roles}."


#: The data model of every catalogue event type.
DATA_MODELS: dict[str, type[BaseModel]] = {name: _data_model(name) for name in CATALOGUE}

#: The event types a client appends with POST /cases/{id}/events.
APPENDABLE: tuple[str, ...] = tuple(name for name in CATALOGUE if name != OPENING_EVENT)


def _append_model(event_type: str) -> type[BaseModel]:
    return create_model(
        f"{event_type}Append",
        __config__=_FORBID,
        __doc__=_describe(event_type).replace("Data of", "Append"),
        type=(Literal[event_type], Field(description="The event type (事件类型)")),  # type: ignore[arg-type]
        data=(DATA_MODELS[event_type], Field(description="The event's data")),
    )


APPEND_MODELS: dict[str, type[BaseModel]] = {name: _append_model(name) for name in APPENDABLE}

#: The append body: a discriminated union on ``type`` of every appendable event.
AppendEvent: Any = Annotated[
    Union[tuple(APPEND_MODELS.values())],  # noqa: UP007
    Field(discriminator="type"),
]

ProblemReportedData = DATA_MODELS[OPENING_EVENT]


def wire_data(model: BaseModel) -> dict[str, Any]:
    """A validated model as the plain data the domain command takes (fields given only)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


_T0 = "2026-03-04T10:00:00+08:00"
#: One valid example for each event type, shown in the OpenAPI document.
EXAMPLES: dict[str, dict[str, Any]] = {
    "ProblemReported": {
        "compound_id": "JX", "community_id": "C1", "title": "地下车库漏水",
        "description": "3号楼地库下雨就漏水", "category": "facilities", "channel": "wechat",
        "location": "3号楼地库", "reporter": {"name": "张三", "phone": "13800000000"},
    },
    "ReportMerged": {"note": "另一位居民反映同一问题"},
    "ProblemCollected": {"category": "facilities", "description": "核实: 地库顶板渗水"},
    "CaseMerged": {"into_case_id": "6f1c7e0a-8d4b-4b7e-9f61-2f4f2a7d5c11", "note": "重复"},
    "TopicFormed": {
        "title": "车库防水", "question": "如何出资修缮?", "parties": ["业委会", "物业"],
    },
    "TopicApproved": {"opinion": "同意立项"},
    "TopicReturned": {"rework": "补充费用估算"},
    "TopicRejected": {"reason": "referred", "referred_to": "住建局"},
    "StakeholderConsulted": {
        "party": "物业", "representative": "王经理", "opinion": "愿意出资一半",
    },
    "MeetingScheduled": {"scheduled_at": _T0, "venue": "社区议事厅", "invited": ["业委会", "物业"]},
    "MeetingHeld": {"attendees": 23, "votes": {"for": 18, "against": 3, "abstain": 2},
                    "outcome": "agreed", "resolution_text": "物业与业委会各出一半"},
    "DecisionPublished": {
        "channels": ["公告栏", "微信群"], "notice": "公示协商结果", "publicity_days": 5,
    },
    "ObjectionRaised": {"objection": "费用分摊不合理"},
    "PublicityClosed": {"note": "公示期满, 无异议"},
    "ImplementationAssigned": {"assignee_role": "property_company", "assignee": "绿城物业",
                               "due_at": "2026-04-01T18:00:00+08:00",
                               "funding_sources": ["业委会", "物业"]},
    "ImplementationAccepted": {"note": "物业领单"},
    "ProgressReported": {"percent": 50, "note": "防水层施工中"},
    "ImplementationCompleted": {"summary": "防水层重做", "cost_fen": 1200000},
    "SupervisionRecorded": {"verdict": "passed", "note": "党员督单: 合格"},
    "ResidentRated": {"satisfaction": "satisfied", "source": "resident", "comment": "满意"},
    "CaseClosed": {"resolution": "resolved"},
    "CaseReopened": {"reason": "又漏水了"},
    "CaseWithdrawn": {"reason": "问题已自行解决"},
    "CommentAdded": {"text": "已电话回访"},
}

APPEND_EXAMPLES: dict[str, dict[str, Any]] = {
    name: {"summary": name, "value": {"type": name, "data": EXAMPLES[name]}}
    for name in APPENDABLE
}


# Responses ---------------------------------------------------------------------------


class Reporter(BaseModel):
    """The reporter's contact as this reader may see it: plain, masked, or erased."""

    name: str | None = None
    phone: str | None = None
    masked: bool = False
    erased: bool = False
    subject_id: str | None = Field(
        default=None, description="The data subject, for erasure (个人信息删除)"
    )


class CaseOut(BaseModel):
    """A case (议题) as it stands at a version."""

    id: UUID
    version: int
    step: Step = Field(description="The step in progress (当前步骤), or closed")
    step_zh: str = Field(description="The step's Chinese name")
    status: Literal["open", "closed"]
    resolution: str | None = Field(description="How a closed case ended (办结方式)")
    compound_id: str = Field(description="The residential compound (小区)")
    community_id: str = Field(description="The community (社区)")
    title: str
    description: str
    category: str
    channel: str
    location: str | None
    attachments: list[str]
    reported_at: datetime
    step_entered_at: datetime
    deadline: datetime | None = Field(description="When the current step is due (时限)")
    overdue: bool = Field(description="Past the current step's deadline (超期)")
    closed_at: datetime | None
    support_count: int = Field(description="Reports joined into this case (附议)")
    topic: dict[str, Any] | None = Field(description="The topic for deliberation (议题)")
    consultations: int
    meeting_at: datetime | None
    publicity_ends_at: datetime | None = Field(description="End of the publicity period (公示期)")
    assignment: dict[str, Any] | None = Field(description="Who implements (派单)")
    accepted: bool = Field(description="The assignee took the order (领单)")
    progress: int
    supervision_passed: bool = Field(description="Party-member supervision passed (党员督单)")
    ratings: dict[str, int] = Field(description="Live ratings by satisfaction (群众评单)")
    merged_into: str | None
    reopen_count: int
    comment_count: int
    head_hash: str = Field(description="Hash of the newest event (哈希链)")
    allowed_events: list[str] = Field(description="Events the current step allows")
    reporter: Reporter | None


class ActorOut(BaseModel):
    id: str
    role: str


class EventOut(BaseModel):
    """One event of a case stream."""

    case_id: UUID
    version: int
    type: str
    data: dict[str, Any]
    actor: ActorOut
    step_before: str | None
    step_after: str
    recorded_at: datetime
    position: int | None = Field(description="Position in the global log")
    prev_hash: str
    hash: str


class AppendedOut(EventOut):
    """The appended event and where the case stands now."""

    step: str = Field(description="The case's step after the event")
    status: Literal["open", "closed"]


class StreamOut(BaseModel):
    case_id: UUID
    events: list[EventOut]
    count: int
    version: int


class LogOut(BaseModel):
    """A page of the global log (全局事件日志)."""

    events: list[EventOut]
    count: int
    after: int
    next_after: int = Field(description="Pass as ?after= for the next page")
    head: int = Field(description="The newest position in the log")
    limit: int


class EventCoverageOut(BaseModel):
    """Whether the latest signed checkpoint of the verifiable log covers an event."""

    version: int
    position: int
    leaf_index: int | None
    covered: bool


class VerifyOut(BaseModel):
    case_id: UUID
    valid: bool
    events: int
    head: str | None
    broken_at: int | None = None
    reason: str | None = None
    #: Per event: its leaf in the verifiable log and whether a checkpoint covers it.
    log: list[EventCoverageOut] = []


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class CredentialIn(BaseModel):
    model_config = _FORBID
    role: Literal[
        "resident", "grid_worker", "community", "party_branch", "owners_committee",
        "property_company", "auditor", "admin",
    ]
    compounds: list[Annotated[StrictStr, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100)
    communities: list[Annotated[StrictStr, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100)
    streets: list[Annotated[StrictStr, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=100)
    areas: list[Annotated[StrictStr, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=100)
    grids: list[Annotated[StrictStr, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=100)
    name: Annotated[StrictStr, Field(max_length=200)] | None = Field(
        default=None, description="What the token is for, a role label; a resident's is "
        "sealed as personal data")


class ScopeUnit(BaseModel):
    level: str
    code: str


class CredentialOut(BaseModel):
    id: str
    role: str
    compounds: list[str]
    communities: list[str]
    name: str | None
    created_at: str
    revoked_at: str | None
    scope: list[ScopeUnit] = Field(default_factory=list,
                                   description="The units it names; empty: the whole store")
    name_erased: bool = False


class IssuedOut(CredentialOut):
    token: str = Field(description="The bearer token: shown this once only")


class ErasedOut(BaseModel):
    subject_id: str
    erased: bool = Field(description="True when a key was shredded by this request")
    state: Literal["complete", "pending"] | None = Field(
        default=None, description="complete: no copy of the key is left in the database "
        "files; pending: older readers still hold one, finished in the background")
    status: str | None = Field(default=None, description="Where to poll the state")
