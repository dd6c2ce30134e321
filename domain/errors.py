"""Errors the domain raises when it refuses a command (拒绝).

A refused command appends nothing. Each error carries what a client needs to act on it;
the HTTP layer maps each class to one status and one stable code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def article(noun: str) -> str:
    """``noun`` with its indefinite article: "an area", "an owners_committee", "a grid"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class DomainError(Exception):
    """Base class: the command was refused and nothing was recorded."""

    code = "domain_error"


class CaseNotFound(DomainError):
    code = "case_not_found"

    def __init__(self, case_id: object) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


class UnknownEventType(DomainError):
    code = "unknown_event_type"

    def __init__(self, event_type: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type
        self.known = tuple(known)


class InvalidEventData(DomainError):
    """The event's data does not fit the catalogue."""

    code = "invalid_data"

    def __init__(self, event_type: str, errors: Mapping[str, str]) -> None:
        details = "; ".join(f"{field}: {msg}" for field, msg in errors.items())
        super().__init__(f"invalid {event_type} data: {details}")
        self.event_type = event_type
        self.errors = dict(errors)


class InvalidTransition(DomainError):
    """The event is not allowed in the case's current step."""

    code = "invalid_transition"

    def __init__(self, event_type: str, step: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"{event_type} is not allowed in step {step}; allowed there: {', '.join(allowed)}"
        )
        self.event_type = event_type
        self.step = step
        self.allowed = tuple(allowed)


class RuleViolated(DomainError):
    """The step allows the event, but a rule of the method refuses it now."""

    code = "rule_violated"

    def __init__(self, event_type: str, step: str | None, rule: str) -> None:
        # A stream without steps (a fee period, a provider) passes None: no "in step".
        where = f" in step {step}" if step is not None else ""
        super().__init__(f"{event_type} refused{where}: {rule}")
        self.event_type = event_type
        self.step = step
        self.rule = rule


class PermissionDenied(DomainError):
    """The actor's role may not record this event."""

    code = "forbidden_role"

    def __init__(self, event_type: str, role: str, reason: str) -> None:
        super().__init__(f"role {role} may not record {event_type}: {reason}")
        self.event_type = event_type
        self.role = role
        self.reason = reason


class OutOfScope(DomainError):
    """The case lies outside the compounds or communities of the actor's credential."""

    code = "out_of_scope"

    def __init__(self, case_id: object) -> None:
        super().__init__(f"case {case_id} is outside this credential's scope")
        self.case_id = case_id


class CompoundOutOfScope(OutOfScope):
    """The compound named lies outside the actor's scope: a new case's, a fee period's
    (403 ``out_of_scope``, as for a case; the detail names the compound, not a case id
    nobody has seen)."""

    def __init__(self, compound: str) -> None:
        DomainError.__init__(self, f"compound {compound} is outside this credential's scope")
        self.case_id = compound


class VersionConflict(DomainError):
    """Optimistic concurrency: the case is not at the version the client expected."""

    code = "version_conflict"

    def __init__(self, case_id: object, expected: int, current: int) -> None:
        super().__init__(f"case {case_id} is at version {current}, not {expected}")
        self.case_id = case_id
        self.expected = expected
        self.current = current


class UnknownUnit(DomainError):
    """A write names a code the directory does not hold (at the level it needs)."""

    code = "unknown_unit"

    def __init__(self, field: str, value: str, level: str, hint: str) -> None:
        super().__init__(f"{field} {value!r} is not a registered {level}; {hint}")
        self.field = field
        self.value = value
        self.level = level
        self.hint = hint


class CommunityMismatch(DomainError):
    """A report names a community other than the one the directory has for its compound."""

    code = "community_mismatch"

    def __init__(self, compound: str, given: str, registered: str | None) -> None:
        super().__init__(
            f"compound {compound} lies in community {registered}, not {given}; "
            "leave community_id out and the directory's is used"
        )
        self.compound = compound
        self.given = given
        self.registered = registered


class DirectoryRefused(DomainError):
    """A directory change (an import, a unit) was refused; nothing was recorded.

    ``errors`` holds ``{"line", "field", "message"}`` for each problem (line 1 is a CSV
    file's header; 0 when the change did not come from a file)."""

    code = "invalid_directory"

    def __init__(self, errors: Sequence[Mapping[str, object]]) -> None:
        first = errors[0] if errors else {"message": "refused"}
        where = f"line {first['line']}: " if first.get("line") else ""
        super().__init__(f"{where}{first.get('field', '')}: {first['message']}"
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
        self.errors = [dict(e) for e in errors]


class SubjectOutOfScope(DomainError):
    """An admin may not act on a data subject or credential outside its own scope."""

    code = "out_of_scope"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is outside this credential's scope")
        self.what = what
