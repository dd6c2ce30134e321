"""The directory's import file, a contract (目录导入文件): practices.md.

UTF-8 CSV (a BOM is accepted); columns found by header name: ``level,code,name,parent``
and optional ``name_en,households,kind,provider,provider_from``. Rows in any order. A row
with a problem is reported with its line number (1 is the header). ``yishi directory show``
writes the same format, so a district can round-trip its spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from domain.csvcells import read_cell
from domain.errors import DirectoryRefused

REQUIRED = ("level", "code", "name", "parent")
OPTIONAL = ("name_en", "households", "kind", "provider", "provider_from")
COLUMNS = (*REQUIRED, "name_en", "households", "kind", "provider", "provider_from")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class UnitRow:
    """One row as given: every value a stripped text (empty: none). ``present`` names the
    optional columns the file has (a missing column changes nothing on import)."""

    line: int
    level: str
    code: str
    name: str
    parent: str
    name_en: str = ""
    households: str = ""
    kind: str = ""
    provider: str = ""
    provider_from: str = ""
    present: frozenset[str] = frozenset(OPTIONAL)


def parse(text: str) -> list[UnitRow]:
    """The rows of an import file; ``DirectoryRefused`` naming the header's problem."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DirectoryRefused(
            [{"line": 1, "field": "header", "message": "the file is empty"}]
        ) from None
    except csv.Error as error:
        raise DirectoryRefused([{"line": 1, "field": "header", "message": str(error)}]) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DirectoryRefused([{"line": 1, "field": "header",
                                 "message": f"missing columns: {', '.join(missing)}"}])
    index = {name: header.index(name) for name in COLUMNS if name in header}
    rows: list[UnitRow] = []
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise DirectoryRefused([{"line": line, "field": "file",
                                         "message": f"more than {MAX_ROWS} rows"}])
            values = {name: read_cell(cells[i].strip()) if i < len(cells) else ""
                      for name, i in index.items()}
            rows.append(UnitRow(line=line, present=frozenset(o for o in OPTIONAL if o in index),
                                **values))
    except csv.Error as error:
        raise DirectoryRefused([{"line": reader.line_num, "field": "file",
                                 "message": str(error)}]) from None
    return rows


def rows_of(records: Iterable[dict[str, object]]) -> list[UnitRow]:
    """Rows from JSON objects (``POST /directory/units``): the same checks as a file."""
    rows = []
    for n, record in enumerate(records, start=1):
        values = {name: "" if record.get(name) is None else str(record[name]).strip()
                  for name in COLUMNS}
        rows.append(UnitRow(line=0 if n == 1 else n, present=frozenset(
            o for o in OPTIONAL if o in record), **values))
    return rows
