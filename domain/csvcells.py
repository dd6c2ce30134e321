"""CSV cells that a spreadsheet shows and never evaluates (CSV 注入防护).

Every CSV the product writes goes through ``csv_line``. A text cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read by a spreadsheet as a
formula (``=HYPERLINK(...)``, ``=1+2``, ``@SUM(...)``): it is written with a leading
``'`` (OWASP, "CSV Injection"). Numbers, negative ones too, stay numbers: an ``int`` or
``float``, and a text that is exactly a decimal number, are written as they are. None is
an empty cell. See api.md ("every CSV prefixes a text cell...") and docs/adr/0072.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: formula-looking text gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def read_cell(text: str) -> str:
    """A cell as ``safe_cell`` wrote it, back to its value: the leading ``'`` before a
    formula character is dropped (so our own CSV files import back unchanged)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record (``\\n``-terminated) of safe cells."""
    buffer = io.StringIO()
    # With "\r\n" as the terminator the writer quotes any cell holding a CR or an LF
    # (with "\n" alone, a lone CR went out unquoted and broke the record).
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return buffer.getvalue()[:-2] + "\n"
