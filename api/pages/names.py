"""Names beside codes (名称): the one place the pages ask what a compound or community is called.

The names are the directory's (docs/adr/0071-directory.md): the current name of each unit.
``app.state.unit_names`` may hold another ``UnitNames`` function (a test's fixed table);
a code the directory does not know names itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from starlette.requests import Request

#: codes -> {code: name} for the codes that have a name (the others may be left out).
UnitNames = Callable[[Iterable[str]], Mapping[str, str]]


def no_names(codes: Iterable[str]) -> dict[str, str]:
    """The lookup used until a directory is wired in: every code names itself."""
    return {code: code for code in codes}


def fixed_names(table: Mapping[str, str]) -> UnitNames:
    """A lookup from a fixed table (tests, the demo district)."""

    def lookup(codes: Iterable[str]) -> dict[str, str]:
        return {code: table[code] for code in codes if code in table}

    return lookup


def unit_names(request: Request, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` for every code asked, the code itself where no name is known."""
    wanted = [code for code in dict.fromkeys(codes) if code]
    lookup: UnitNames | None = getattr(request.app.state, "unit_names", None)
    if lookup is None:
        cases = getattr(request.app.state, "cases", None)
        directory = getattr(cases, "directory", None)
        found: Mapping[str, str | None] = (
            directory.names(wanted) if directory is not None else no_names(wanted))
    else:
        found = lookup(wanted)
    return {code: str(found.get(code) or code) for code in wanted}
