"""Bounds on what a client may send (输入边界): integers, times, texts and codes.

Every value that enters the store passes one of these checks first, so what is stored can
always be answered, hashed and read back by any JSON implementation (docs/adr/0041-bounds.md):

- **Integers** lie within their field's range (domain.md, "Ranges") and always within
  ±(2^53−1), the integers every JSON implementation reads exactly (RFC 8259 §6; RFC 8785
  hashes numbers as IEEE 754 doubles, so the chain of ADR 0004 is recomputable only there).
- **Times** lie in the closed interval from 2000-01-01 to 2100-01-01, China time (UTC+8).
  Event times, query times and command-line times alike; anything outside is refused, never
  overflowed.
- **Texts** hold no control characters (Unicode category Cc) other than newline and tab; CR
  and CRLF are first normalised to a newline (browsers and hotline clients send CRLF).
  **Titles** are also one line: no newline, line or paragraph separator (U+2028,
  U+2029) and no bidirectional control (Unicode 15 UAX #9: U+061C, U+200E, U+200F,
  U+202A–U+202E, U+2066–U+2069), which could make a title read differently from its bytes.
- **Codes** (compound, community and other unit codes) match ``[A-Za-z0-9_-]{1,32}``.

Each check returns the clean value or raises ``ValueError`` with a message that names what
is wrong (callers add the field's name).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

#: The largest integer every JSON implementation reads exactly: 2^53 − 1.
JSON_SAFE_INTEGER = 2**53 - 1

#: China Standard Time, the zone in which the time bounds are stated.
CHINA = timezone(timedelta(hours=8), "CST")
#: The earliest and latest time yishi stores or accepts in a query (inclusive).
EARLIEST = datetime(2000, 1, 1, tzinfo=CHINA)
LATEST = datetime(2100, 1, 1, tzinfo=CHINA)

OUT_OF_BOUNDS = "must lie from 2000-01-01T00:00:00+08:00 to 2100-01-01T00:00:00+08:00"

CODE_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
_CODE = re.compile(CODE_PATTERN)

#: Bidirectional formatting characters (UAX #9, "Explicit Directional Formatting").
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
LINE_BREAKS = frozenset("\n\u2028\u2029\x85\x0b\x0c")
_KEPT_CONTROLS = frozenset("\n\t")


def check_integer(value: int, minimum: int | None, maximum: int | None) -> int:
    """``value`` within ``[minimum, maximum]`` and within ±(2^53−1); ValueError otherwise."""
    low = -JSON_SAFE_INTEGER if minimum is None else max(minimum, -JSON_SAFE_INTEGER)
    high = JSON_SAFE_INTEGER if maximum is None else min(maximum, JSON_SAFE_INTEGER)
    if value < low:
        raise ValueError(f"must be at least {low}")
    if value > high:
        raise ValueError(f"must be at most {high}")
    return value


def check_time(value: datetime) -> datetime:
    """An aware time within [2000-01-01, 2100-01-01] China time, else ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time needs a time zone")
    try:
        inside = EARLIEST <= value <= LATEST
    except OverflowError:  # an offset that moves the time past year 1 or 9999
        inside = False
    if not inside:
        raise ValueError(OUT_OF_BOUNDS)
    return value


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (``Z`` or an offset) within the bounds, in UTC; ValueError otherwise.

    Python's parser covers years 1 to 9999; anything it cannot represent, and any time
    without a zone, is refused the same way as a time outside the bounds.
    """
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValueError("not an RFC 3339 time with a time zone") from None
    return check_time(parsed).astimezone(UTC)


def clean_text(value: str, *, one_line: bool = False) -> str:
    """The text with CR and CRLF as newlines; ValueError for a control character (Cc)
    other than newline and tab, and, for a one-line text, for any line break or
    bidirectional control."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    for char in value:
        if one_line and char in LINE_BREAKS:
            raise ValueError("must be one line (no line breaks)")
        if one_line and char in BIDI_CONTROLS:
            raise ValueError(f"must not contain the bidirectional control U+{ord(char):04X}")
        if char not in _KEPT_CONTROLS and unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def check_code(value: str) -> str:
    """A unit code: 1 to 32 of A–Z, a–z, 0–9, underscore and hyphen; ValueError otherwise."""
    if not _CODE.match(value):
        raise ValueError("must be a code of 1 to 32 letters, digits, '_' or '-'")
    return value


def printable(text: str) -> str:
    """The text safe to print on a terminal: every character that is not printable (control
    characters, escape sequences, bidirectional controls, line breaks) becomes an escape
    such as ``\\x1b`` or ``\\u202e``, so one stored text is one line of visible characters."""
    if text.isprintable() and not BIDI_CONTROLS.intersection(text):
        return text
    out = []
    for char in text:
        if char.isprintable() and char not in BIDI_CONTROLS:
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


__all__ = [
    "BIDI_CONTROLS",
    "CHINA",
    "CODE_PATTERN",
    "EARLIEST",
    "JSON_SAFE_INTEGER",
    "LATEST",
    "check_code",
    "check_integer",
    "check_time",
    "clean_text",
    "parse_time",
    "printable",
]
