"""Which grid (网格) a case belongs to: the server's stamp on reports and collections.

Issue 14 groups the figures by grid: a case belongs to the grid of the grid worker who
reported or collected it (docs/adr/0115-grid-stamp.md). The server decides that grid, as it
decides a case's community from the directory: when a grid worker whose credential names
grids records ``ProblemReported`` or ``ProblemCollected``, the event's data gets ``grid``,
the worker's grid that lies in the case's compound. Nothing here touches a store or a
clock; ``stamp_grid`` is pure over the grids it is told of (the directory's view in the
application, the demo district's own grids in the simulation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.directory.model import Level
from domain.directory.view import DirectoryView
from domain.errors import InvalidEventData
from domain.model import Actor, Role

#: The events that carry the grid of the grid worker who recorded them.
GRID_EVENTS: frozenset[str] = frozenset({"ProblemReported", "ProblemCollected"})

#: The compound a grid code lies in, None for a code that is no registered grid.
CompoundOf = Callable[[str], "str | None"]


def compound_of(view: DirectoryView) -> CompoundOf:
    """The directory's answer to "which compound is this grid in" (the grid unit's parent
    now)."""
    def parent(code: str) -> str | None:
        unit = view.get(code)
        return unit.parent if unit is not None and unit.level is Level.GRID else None
    return parent


def grids_in(actor: Actor, compound_id: str, grids: CompoundOf) -> list[str]:
    """The grid codes the actor's credential names that lie in ``compound_id``, sorted; []
    for an actor that is not a grid worker, names no grid, or names none there."""
    if actor.role is not Role.GRID_WORKER:
        return []
    return sorted(code for level, code in actor.units
                  if level == Level.GRID.value and grids(code) == compound_id)


def stamp_grid(
    event_type: str, data: Any, actor: Actor, compound_id: str, grids: CompoundOf
) -> Any:
    """The event data with ``grid`` as the server stamps it (a new dict; ``data`` as given
    for any other event type or a non-object body, which validation refuses later).

    The stamp is the actor's grid in the case's compound (``grids_in``): the one the body
    names when the worker holds several there, else the first by code; none when the actor
    has no grid there (``grids``: where each grid lies, ``compound_of`` a directory view).
    A body naming a grid the server would not stamp raises
    ``InvalidEventData`` (422) on field ``grid``.
    """
    if event_type not in GRID_EVENTS or not isinstance(data, Mapping):
        return data
    mine = grids_in(actor, compound_id, grids)
    named = data.get("grid")
    result = {k: v for k, v in data.items() if k != "grid"}
    if named is not None and named not in mine:
        raise InvalidEventData(event_type, {
            "grid": "is stamped by the server: the recording grid worker's grid in the"
                    " case's compound" + (f" ({', '.join(mine)})" if mine else " (none)")})
    stamp = named if named is not None else (mine[0] if mine else None)
    if stamp is not None:
        result["grid"] = stamp
    return result
