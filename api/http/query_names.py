"""Unknown query parameters are refused (422), never ignored.

A misspelt filter (``/cases?compound_id=JX`` for ``?compound=JX``) used to be dropped
silently: the answer was the unfiltered list, which a dashboard or an export then passed on
as the filtered one. Every API route now answers 422 ``invalid_query`` naming the first
unknown parameter and listing the ones the route takes (docs/adr/0131-unknown-query.md).
The pages (api/pages) keep their own, more forgiving rules: a browser's address bar is not
a client program.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.http.problems import Problem

#: Each route's names, by the route's id (routes are not hashable; they live as long as
#: the app, which the entry keeps alive with them).
_KNOWN: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _known(route: APIRoute) -> frozenset[str]:
    """The query parameter names a route declares, its dependencies' included."""
    found = _KNOWN.get(id(route))
    if found is not None and found[0] is route:
        return found[1]
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    _KNOWN[id(route)] = (route, frozenset(names))
    return _KNOWN[id(route)][1]


async def known_query_parameters(request: Request) -> None:
    """A router dependency: 422 ``invalid_query`` (``field``: the unknown name, ``allowed``:
    the route's names) when the query string names a parameter the route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise Problem(
            422, "invalid_query",
            f"unknown query parameter {unknown[0]!r}"
            + (f"; this address takes {', '.join(sorted(known))}" if known
               else "; this address takes none"),
            field=unknown[0], allowed=sorted(known),
        )
