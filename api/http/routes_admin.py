"""Administration: credentials and the erasure of data subjects (管理)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.credentials import Credential
from api.http.auth import ActorDep, AdminDep, CasesDep, CredentialsDep
from api.http.models import CredentialIn, CredentialOut, ErasedOut, IssuedOut
from api.http.problems import Problem
from api.http.responses import problems

router = APIRouter(prefix="/admin", tags=["admin"])


def _out(credential: Credential) -> CredentialOut:
    return CredentialOut(
        id=credential.id, role=credential.role.value, compounds=list(credential.compounds),
        communities=list(credential.communities), name=credential.name,
        created_at=credential.created_at, revoked_at=credential.revoked_at,
    )


@router.post(
    "/subjects/{subject_id}/erase",
    response_model=ErasedOut,
    summary="Erase a data subject's personal data by shredding its key (个人信息删除)",
    responses=problems(401, 403, 422),
)
def erase_subject(
    subject_id: Annotated[str, Path(max_length=200)], cases: CasesDep, actor: ActorDep
) -> ErasedOut:
    """The events and their hash chain stay; the contact reads as erased from then on."""
    erased = cases.erase_subject(subject_id, actor)
    return ErasedOut(subject_id=subject_id, erased=erased)


@router.get("/credentials", response_model=list[CredentialOut], summary="List credentials",
            responses=problems(401, 403))
def list_credentials(credentials: CredentialsDep, admin: AdminDep) -> list[CredentialOut]:
    return [_out(c) for c in credentials.list()]


@router.post("/credentials", status_code=201, response_model=IssuedOut,
             summary="Create a credential; the token is shown once (令牌)",
             responses=problems(401, 403, 422))
def create_credential(body: CredentialIn, credentials: CredentialsDep,
                      admin: AdminDep) -> JSONResponse:
    issued = credentials.issue(body.role, body.compounds, body.communities, body.name)
    credential = credentials.get(issued.id)
    assert credential is not None
    out = IssuedOut(**_out(credential).model_dump(), token=issued.token)
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Cache-Control": "no-store"})


@router.post("/credentials/{credential_id}/revoke", response_model=CredentialOut,
             summary="Revoke a credential", responses=problems(401, 403, 404))
def revoke_credential(credential_id: Annotated[str, Path(max_length=100)],
                      credentials: CredentialsDep, admin: AdminDep) -> CredentialOut:
    credentials.revoke(credential_id)
    credential = credentials.get(credential_id)
    if credential is None:
        raise Problem(404, "credential_not_found", f"no credential {credential_id}")
    return _out(credential)
