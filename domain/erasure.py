"""Erasing personal data (个人信息删除, PIPL): a data subject's key shredded, within scope.

``SubjectErasure`` is a part of the application service (domain/application.py, ``Cases``).
An erasure shreds the subject's key (docs/adr/0005), so every sealed copy of its data reads
as erased while the events and their hash chain stay; ``complete_erasures`` then removes
the key's last copies from the database files (docs/adr/0073-erasure.md). Only an admin
erases, and only subjects within the admin's scope (docs/adr/0070-scope-model.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import CaseNotFound, DomainError, PermissionDenied, SubjectOutOfScope
from domain.model import Actor, Role
from domain.privacy import ErasureState

if TYPE_CHECKING:
    from datetime import datetime

    from domain.case import Case
    from domain.clock import Clock
    from domain.directory import Directory
    from domain.points import Points
    from domain.privacy import SubjectKeys


class SubjectErasure:
    """The erasure commands of ``Cases``."""

    if TYPE_CHECKING:
        keys: SubjectKeys
        directory: Directory
        points: Points
        clock: Clock

        def get_case(self, case_id: UUID, version: int | None = None,
                     as_of: datetime | None = None, reader: Actor | None = None) -> Case: ...

    def erase_subject(
        self,
        subject_id: str,
        actor: Actor,
        resident_scope: Iterable[tuple[str, str]] | None = None,
    ) -> bool:
        """Shred a data subject's key (PIPL erasure). True when there was one to shred.

        Only within the admin's scope (docs/adr/0070-scope-model.md): a report's subject
        (``report:<case id>``) where the case is covered, a grid member's
        (``member:...``) where the grid lies within it, a resident's
        (``resident:<credential id>``) where ``resident_scope``, the credential's named
        units, does. Anything else only for a district-wide admin; ``SubjectOutOfScope``
        otherwise (which reads as not found).
        """
        if actor.role is not Role.ADMIN:
            raise PermissionDenied("erase", actor.role, "only an admin erases personal data")
        actor = self.directory.resolve(actor)
        if not self._subject_in_scope(subject_id, actor, resident_scope):
            raise SubjectOutOfScope(f"data subject {subject_id}")
        return self.keys.erase(subject_id, actor.id, self.clock.now())

    def complete_erasures(self, wait_seconds: float = 5.0) -> bool:
        """Leave no copy of any erased key in the database's files (docs/adr/0073). True
        when done; False when older readers remained for ``wait_seconds`` (try again)."""
        return self.keys.purge(wait_seconds, self.clock.now())

    def erasure_state(self, subject_id: str, actor: Actor,
                      resident_scope: Iterable[tuple[str, str]] | None = None
                      ) -> ErasureState | None:
        """``complete``, ``pending`` or None (never erased), within the admin's scope."""
        if actor.role is not Role.ADMIN:
            raise PermissionDenied("erase", actor.role, "only an admin erases personal data")
        if not self._subject_in_scope(subject_id, self.directory.resolve(actor), resident_scope):
            raise SubjectOutOfScope(f"data subject {subject_id}")
        return self.keys.erasure_state(subject_id)

    def _subject_in_scope(
        self, subject_id: str, actor: Actor, resident_scope: Iterable[tuple[str, str]] | None
    ) -> bool:
        if actor.is_district_wide:
            return True
        kind, _, rest = subject_id.partition(":")
        if kind == "report":
            try:
                case = self.get_case(UUID(rest))
            except (ValueError, CaseNotFound):
                return False
            return actor.covers(case.compound_id, case.community_id)
        if kind == "member":
            view = self.directory.refresh()
            grids = [u.code for u in view.units.values()
                     if any(m.get("subject_id") == subject_id for m in u.team)]
            return bool(grids) and all(
                self.directory.within([("grid", g)], actor) for g in grids
            )
        if kind == "participant":  # participation points: the participant's compound
            try:
                participant = self.points.get(UUID(rest), actor)
            except (ValueError, DomainError):
                return False
            return actor.covers(participant.compound_id, participant.community_id)
        if kind == "resident" and resident_scope is not None:
            return self.directory.within(resident_scope, actor)
        return False
