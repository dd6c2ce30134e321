"""One folding for every text match (检索归一): stored text and query alike.

``fold(text)`` is what a search compares, on SQLite and on PostgreSQL alike: the stored
title's fold is kept in a column by the projections, the query's is computed here, and the
database only looks for one inside the other (``instr``/``strpos``: code point for code
point, no collation, no SQL case folding). The steps, each from a published table:

1. NFKC (Unicode Standard Annex #15): compatibility forms to their plain equivalents, so
   full-width ``３号楼`` and ``Ｂ栋`` read as ``3号楼`` and ``b栋``, ligatures as letters;
2. full case folding (Unicode's CaseFolding.txt, ``str.casefold``): ``ÄRGER`` and
   ``ärger`` alike, ``ß`` as ``ss``, Cyrillic and Greek too;
3. NFKC again (case folding can leave a decomposed or compatibility form);
4. default-ignorable code points removed (Default_Ignorable_Code_Point, DerivedCoreProperties.txt):
   zero-width spaces and joiners, soft hyphens, bidirectional marks, variation selectors,
   tags. They are removed last, so a combining accent after an invisible character stays
   an accent of its own rather than composing across it: the fold of a text is then the
   folds of its grapheme clusters, one after the other, and any part of a title cut at
   cluster boundaries is found (tests/projections/test_search.py).

The result depends on the Unicode tables of the running Python (``UNICODE_VERSION``): the
projections record the version their folded columns were made with and fold again when it
changes (docs/adr/0060-text-folding.md).
"""

from __future__ import annotations

import re
import unicodedata

#: The Unicode version of the tables ``fold`` uses (Python's ``unicodedata``).
UNICODE_VERSION: str = unicodedata.unidata_version

#: Default_Ignorable_Code_Point (DerivedCoreProperties.txt; unchanged from Unicode 14 to 16).
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def fold(text: str) -> str:
    """The folded form of ``text``: NFKC, case folded, NFKC, default-ignorables removed."""
    normal = unicodedata.normalize("NFKC", text)
    folded = unicodedata.normalize("NFKC", normal.casefold())
    return _IGNORABLE.sub("", folded)


def contains(haystack: str, needle: str) -> bool:
    """Whether ``needle`` is found in ``haystack`` once both are folded (what search does)."""
    return fold(needle) in fold(haystack)
