"""Reading a case for one reader: out of scope reads as not found (no existence leak), and
a past state judged at its own moment."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from api.http.problems import Problem, not_found
from domain.application import Cases
from domain.bounds import check_time
from domain.case import Case
from domain.errors import OutOfScope
from domain.model import Actor


def query_time(name: str, value: datetime) -> datetime:
    """A time from a query within the bounds of ``domain.bounds`` (2000-01-01 to
    2100-01-01 China time, with a zone); 422 ``invalid_data`` naming the parameter."""
    try:
        return check_time(value)
    except ValueError as error:
        raise Problem(422, "invalid_data", f"{name} {error}",
                      errors=[{"field": name, "message": str(error)}]) from None


def read_case(
    cases: Cases,
    case_id: UUID,
    reader: Actor,
    version: int | None = None,
    as_of: datetime | None = None,
) -> Case:
    if as_of is not None:
        as_of = query_time("as_of", as_of)
    try:
        case = cases.get_case(case_id, version=version, as_of=as_of, reader=reader)
    except OutOfScope:
        raise not_found(case_id) from None
    if version is not None and case.version < version and as_of is None:
        raise Problem(404, "version_not_found", f"case {case_id} has no version {version}",
                      current_version=case.version)
    return case


def moment_of(case: Case, version: int | None, as_of: datetime | None) -> datetime | None:
    """The moment a state read is judged at (``overdue``): ``as_of`` when given; for
    ``?version=N`` alone, when version N was recorded; None (now) for the current state.
    So ``GET /cases/{id}?as_of=T`` agrees with ``/stats/steps?as_of=T``."""
    if as_of is not None:
        return as_of
    if version is not None:
        recorded: datetime = case.modified_on
        return recorded
    return None
