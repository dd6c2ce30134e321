"""Administration: credentials and the erasure of data subjects (管理).

Every admin action is bounded by the admin's own scope (docs/adr/0070-scope-model.md): it
lists, creates, revokes and erases only where the credential's or subject's scope lies
within its own; what lies outside reads as not found. No credential is created wider than
its creator, and a district-wide admin is created only on the command line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.credentials import Credential, Credentials
from api.http.auth import ActorDep, AdminDep, CasesDep, CredentialsDep, SettingsDep
from api.http.models import CredentialIn, CredentialOut, ErasedOut, IssuedOut, ScopeUnit
from api.http.problems import Problem
from api.http.responses import problems
from domain.application import Cases
from domain.directory.view import Named
from domain.model import Actor, Role

router = APIRouter(prefix="/admin", tags=["admin"])


def _out(credential: Credential) -> CredentialOut:
    return CredentialOut(
        id=credential.id, role=credential.role.value, compounds=list(credential.compounds),
        communities=list(credential.communities), name=credential.name,
        created_at=credential.created_at, revoked_at=credential.revoked_at,
        scope=[ScopeUnit(level=level, code=code) for level, code in credential.units],
        name_erased=credential.name_erased,
    )


def _manages(cases: Cases, admin: Actor, credential: Credential) -> bool:
    """True when the credential's scope lies within the admin's."""
    return cases.directory.within(credential.units, admin)


def _resident_scope(credentials: Credentials, subject_id: str) -> tuple[Named, ...] | None:
    kind, _, rest = subject_id.partition(":")
    owner = credentials.get(rest) if kind == "resident" else None
    return owner.units if owner is not None else None


@router.post(
    "/subjects/{subject_id}/erase",
    response_model=ErasedOut,
    summary="Erase a data subject's personal data by shredding its key (个人信息删除)",
    responses={202: {"model": ErasedOut, "description": "Erased; the key's last copies "
                     "leave the database files in the background (poll the Location)"},
               **problems(401, 403, 404, 422)},
)
def erase_subject(
    request: Request, subject_id: Annotated[str, Path(max_length=200)], cases: CasesDep,
    actor: ActorDep, credentials: CredentialsDep, settings: SettingsDep,
) -> JSONResponse:
    """The events and their hash chain stay; the contact reads as erased from then on.
    The answer waits (boundedly) until no copy of the key is left in the database files
    (``state: complete``); if older readers still hold it, 202 with ``state: pending``
    and a ``Location`` to poll. Erasing again answers as the first time did (``erased``
    false). 404 ``subject_not_found`` when no key was ever held for the subject (nothing to
    erase); a subject outside the admin's scope reads as not found too."""
    erased = cases.erase_subject(subject_id, actor, _resident_scope(credentials, subject_id))
    status = f"/admin/erasures/{subject_id}"
    if not erased and cases.keys.erasure_state(subject_id) is None:  # no key was ever held
        raise Problem(404, "subject_not_found",
                      f"no personal data is held for data subject {subject_id}; nothing erased")
    done = cases.complete_erasures(settings.erasure_wait_seconds)
    state = cases.keys.erasure_state(subject_id)  # after the purge: complete, or pending
    out = ErasedOut(subject_id=subject_id, erased=erased, state=state, status=status)
    if not done:
        request.app.state.purger.kick()
        return JSONResponse(out.model_dump(mode="json"), status_code=202,
                            headers={"Location": status})
    return JSONResponse(out.model_dump(mode="json"))


@router.get("/erasures/{subject_id}", response_model=ErasedOut,
            summary="Whether an erasure is complete (no copy of the key left in the files)",
            responses=problems(401, 403, 404))
def erasure_status(subject_id: Annotated[str, Path(max_length=200)], cases: CasesDep,
                   actor: ActorDep, credentials: CredentialsDep) -> ErasedOut:
    state = cases.erasure_state(subject_id, actor, _resident_scope(credentials, subject_id))
    return ErasedOut(subject_id=subject_id, erased=state is not None, state=state,
                     status=f"/admin/erasures/{subject_id}")


@router.get("/credentials", response_model=list[CredentialOut],
            summary="List the credentials within the admin's scope", responses=problems(401, 403))
def list_credentials(cases: CasesDep, credentials: CredentialsDep,
                     admin: AdminDep) -> list[CredentialOut]:
    return [_out(c) for c in credentials.list() if _manages(cases, admin, c)]


@router.post("/credentials", status_code=201, response_model=IssuedOut,
             summary="Create a credential within the admin's scope; the token is shown once",
             responses=problems(401, 403, 422))
def create_credential(body: CredentialIn, cases: CasesDep, credentials: CredentialsDep,
                      admin: AdminDep) -> JSONResponse:
    named = [*(("street", c) for c in body.streets), *(("community", c) for c in body.communities),
             *(("area", c) for c in body.areas), *(("compound", c) for c in body.compounds),
             *(("grid", c) for c in body.grids)]
    unknown = [(level, code) for level, code in named
               if (unit := cases.directory.unit(code)) is None or unit.level.value != level]
    if unknown:
        raise Problem(422, "unknown_unit", "the scope names units the directory does not hold",
                      errors=[{"field": f"{level}s", "message": f"{code} is not a registered "
                               f"{level}"} for level, code in unknown],
                      hint="register them first (yishi directory import, POST /directory/units)")
    if not named and body.role == Role.ADMIN.value:
        raise Problem(403, "scope_too_wide", "a district-wide admin is created only on the "
                      "command line (yishi token create --role admin)")
    if not cases.directory.within(named, admin):
        raise Problem(403, "scope_too_wide", "a credential's scope must lie within the "
                      "creator's own scope")
    issued = credentials.issue(body.role, body.compounds, body.communities, body.name,
                               streets=body.streets, areas=body.areas, grids=body.grids)
    credential = credentials.get(issued.id)
    assert credential is not None
    out = IssuedOut(**_out(credential).model_dump(), token=issued.token)
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Cache-Control": "no-store"})


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialOut,
             summary="Revoke a credential within the admin's scope",
             responses=problems(401, 403, 404))
def revoke_credential(credential_id: Annotated[str, Path(max_length=100)], cases: CasesDep,
                      credentials: CredentialsDep, admin: AdminDep) -> CredentialOut:
    credential = credentials.get(credential_id)
    if credential is None or not _manages(cases, admin, credential):
        raise Problem(404, "credential_not_found", f"no credential {credential_id}")
    credentials.revoke(credential_id)
    revoked = credentials.get(credential_id)
    assert revoked is not None
    return _out(revoked)


__all__ = ["Credentials", "router"]
