"""Joint meetings over HTTP (联席会议): meetings per month and compound, parties present.

``GET /stats/meetings`` counts the ``MeetingHeld`` events of the cases in the reader's
scope per month (China time) and compound (or community), with the parties each listed
(practices.md "Joint meetings and patrols"). JSON or CSV; an unknown ``group_by`` or a
malformed month is 422 ``invalid_query``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.auth import ActorDep, CasesDep
from api.http.names import with_group_names
from api.http.problems import query_problem
from api.http.responses import figures_answer, problems
from api.http.routes_fees import Texts, texts
from api.http.routes_projections import Bom
from domain.application import Cases
from projections.meetings import MeetingProjection, MeetingQuery, meeting_figures
from projections.queries import QueryError, Scope

router = APIRouter(tags=["meetings"])


def projection(request: Request, cases: Cases) -> MeetingProjection:
    """This app's meeting read model (made on first use, kept in the app's state)."""
    found = getattr(request.app.state, "meeting_projection", None)
    if not isinstance(found, MeetingProjection) or found.cases is not cases:
        found = MeetingProjection(cases)
        request.app.state.meeting_projection = found
    return found


@router.get("/stats/meetings", summary="Joint meetings per month and compound (联席会议)",
            responses=problems(401, 422))
def stats_meetings(
    request: Request, cases: CasesDep, actor: ActorDep,
    compound: Texts = None, community: Texts = None,
    month: Annotated[list[str] | None, Query(description="YYYY or YYYY-MM")] = None,
    group_by: Annotated[list[str] | None, Query(
        description="month, compound, community (default month,compound)")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    bom: Bom = False,
) -> Response:
    """``{"position", "head", "group_by", "groups": [{"group", "names", "meetings",
    "joint_meetings", "with_parties", "attendees", "parties": {party: meetings}}]}``;
    a joint meeting lists at least two parties (docs/adr/0113)."""
    reader = cases.directory.resolve(actor)
    query = MeetingQuery(compound=tuple(texts(compound)), community=tuple(texts(community)),
                         month=tuple(texts(month)),
                         group_by=tuple(texts(group_by)) or ("month", "compound"))
    try:
        payload = meeting_figures(projection(request, cases), Scope.of(reader), query)
    except QueryError as error:
        raise query_problem(error) from None
    with_group_names(payload, cases.directory)
    return figures_answer(payload, format, "meetings", bom)
