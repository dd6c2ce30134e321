"""The pages' CSV downloads: UTF-8 with a byte order mark, so that Excel opens them as
UTF-8 (without it, Excel on a Chinese Windows reads GBK and shows mojibake); RFC 4180
quoting, CRLF line ends; every cell through ``domain.csvcells`` (no live formula)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from domain.csvcells import csv_line

BOM = "\ufeff"


def _line(values: Sequence[Any]) -> str:
    """One record with CRLF (what Excel writes), its cells through the product's one CSV
    cell helper: on one line, formulas defused (domain/csvcells.py)."""
    return csv_line(values)[:-1] + "\r\n"


def csv_download(header: Sequence[str], rows: Iterable[Sequence[Any]],
                 filename: str) -> StreamingResponse:
    """A streamed download: the BOM and the header row first, then one line per row."""

    def lines() -> Iterator[bytes]:
        yield (BOM + _line(header)).encode("utf-8")
        for row in rows:
            yield _line(row).encode("utf-8")

    return StreamingResponse(
        lines(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; "
                 f"filename*=UTF-8''{quote(filename)}",
                 "Cache-Control": "private, no-store"},
    )
