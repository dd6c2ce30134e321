"""Names beside codes (名称): the one place the pages ask what a compound or community is called.

The directory of units (issue 10) is not part of this branch yet. Until it is wired in,
``app.state.unit_names`` may hold any ``UnitNames`` function (tests and the demo set one);
without one every code names itself. Wiring the directory in is one line in
``api.pages.install``: ``app.state.unit_names = <the directory's lookup>``.
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
    lookup: UnitNames = getattr(request.app.state, "unit_names", None) or no_names
    found = lookup(wanted)
    return {code: str(found.get(code) or code) for code in wanted}
