"""Names beside codes in read answers (名称): from the directory, as they are now.

The case list gets ``compound_name``, ``community_name`` and ``grid_name`` beside the
codes; each figure group keeps its codes in ``group`` and gets a sibling ``names`` object
with the current name of each code in it (None for a code the directory does not hold).
practices.md.
"""

from __future__ import annotations

from typing import Any

from domain.directory import Directory

#: The group keys that hold unit codes.
CODE_KEYS = ("compound_id", "community_id", "grid_id", "area_id", "provider")


def with_case_names(payload: dict[str, Any], directory: Directory) -> dict[str, Any]:
    view = directory.view
    for row in payload.get("data", []):
        row["compound_name"] = view.name_of(row.get("compound_id") or "")
        row["community_name"] = view.name_of(row.get("community_id") or "")
        grid = row.get("grid_id")
        row["grid_name"] = view.name_of(grid) if grid else None
    return payload


def with_group_names(payload: dict[str, Any], directory: Directory) -> dict[str, Any]:
    view = directory.view
    for item in payload.get("groups") or []:
        group = item.get("group")
        if isinstance(group, dict):
            item["names"] = {key: view.name_of(str(value)) for key, value in group.items()
                             if key in CODE_KEYS and value is not None}
    return payload
