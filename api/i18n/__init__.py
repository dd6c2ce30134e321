"""Languages (语言): one message catalogue, Chinese and English, for pages and problems.

``LANGUAGES`` are the languages served; Chinese is the default. ``language(...)`` picks one
from a ``?lang=`` value or an ``Accept-Language`` header (RFC 9110 §12.5.4: the highest
weighted range that names zh or en); ``text(key, lang)`` looks a message up in
``api.i18n.catalogue`` and fails loudly on a key it does not know (a missing translation
is a bug, found by tests/pages/test_catalogue.py). docs/adr/0082-i18n-catalogue.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from api.i18n.catalogue import MESSAGES, PROBLEMS, SUMMARIES_ZH, TITLES
from api.i18n.refusals import refusal_zh

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh", "en")
DEFAULT: Lang = "zh"


def accepted(header: str | None) -> Lang | None:
    """The language an ``Accept-Language`` header prefers among zh and en, or None.

    Ranges are weighed by ``q`` (default 1); ``zh-CN``, ``zh-Hans`` and ``zh`` count as zh,
    ``en-*`` as en; ``*`` and other languages are ignored. Ties keep header order.
    """
    if not header:
        return None
    best: tuple[float, int, Lang] | None = None
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0].lower()
        weight = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.split("-")[0]
        if primary not in LANGUAGES or weight <= 0:
            continue
        lang: Lang = "zh" if primary == "zh" else "en"
        if best is None or weight > best[0]:
            best = (weight, index, lang)
    return None if best is None else best[2]


def language(query: str | None = None, header: str | None = None,
             default: Lang = DEFAULT) -> Lang:
    """``?lang=zh|en`` first, then ``Accept-Language``, then the default."""
    if query in LANGUAGES:
        return "zh" if query == "zh" else "en"
    return accepted(header) or default


def text(key: str, lang: Lang, **values: Any) -> str:
    """The message ``key`` in ``lang``, formatted with ``values`` (``str.format``).

    Raises KeyError for an unknown key.
    """
    zh, en = MESSAGES[key]
    message = zh if lang == "zh" else en
    return message.format(**values) if values else message


def label(kind: str, value: str | None, lang: Lang) -> str:
    """The name of a vocabulary value (``step``, ``role``, ``category``, ``channel``,
    ``resolution``, ``satisfaction``, ``event``, ``assignee_role``); the value itself when the
    catalogue has no name for it (a value added later must not break a page)."""
    if value is None:
        return ""
    found = MESSAGES.get(f"{kind}.{value}")
    if found is None:
        return value
    return found[0] if lang == "zh" else found[1]


def summary(event_type: str, data: Mapping[str, Any], english: str, lang: Lang) -> str:
    """An event's one-line summary: the recorded English one, or the Chinese template."""
    if lang == "en":
        return english
    template = SUMMARIES_ZH.get(event_type)
    if template is None:
        return english
    try:
        return template(data, lambda kind, value: label(kind, value, "zh"))
    except (KeyError, TypeError, IndexError):
        return english


def problem_text(code: str, status: int, detail: str, lang: Lang,
                 reason: str | None = None) -> tuple[str, str]:
    """The (title, detail) of a problem in ``lang``: English as raised, or the Chinese
    message of its code (the English detail kept when the code has none), followed by the
    domain's ``reason`` for a refusal in Chinese (``api.i18n.refusals``; its English words
    when there is no translation)."""
    if lang == "en":
        return TITLES.get(status, ("错误", "Error"))[1], detail
    title = TITLES.get(status, ("错误", "Error"))[0]
    message = PROBLEMS.get(code, detail)
    if reason:
        message = f"{message.rstrip('。')}:{refusal_zh(reason) or reason}。"
    return title, message
