"""Rendering a page (渲染): the Jinja2 environment, the reader's language, and HTML answers.

Templates live in ``api/pages/templates`` (package data). Every template gets ``lang``,
``t`` (a message), ``label`` (a vocabulary name), the formats of api.pages.formats (a month
always as ``month_label``: 2026年3月 / March 2026), and
``url(path, **query)``, which keeps ``?lang=en`` on every link so a reader stays in the
language they chose. Autoescaping is on: every text a person wrote is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.i18n import Lang, label, language, text
from api.pages import formats
from api.pages.names import unit_names
from domain.model import Actor

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Pages must not be framed, sniffed or cached by shared caches; scripts and styles come
#: only from this host (the vendored copies), never from another.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}

ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request) -> Lang:
    """``?lang=`` decides; without it the pages speak Chinese (the people they are for),
    whatever the browser's ``Accept-Language``."""
    return language(request.query_params.get("lang"), None)


def url_for_lang(lang: Lang, path: str, **query: Any) -> str:
    params = {k: v for k, v in query.items() if v not in (None, "", [], False)}
    if lang == "en":
        params["lang"] = "en"
    return path + ("?" + urlencode(params, doseq=True) if params else "")


def scope_text(request: Request, actor: Actor, lang: Lang) -> str:
    """The reader's scope in words: the names of its compounds and communities."""
    if actor.is_district_wide:
        return text("who.everything", lang)
    codes = sorted(actor.communities) + sorted(actor.compounds)
    names = unit_names(request, codes)
    return "、".join(names[c] if names[c] == c else f"{names[c]}({c})" for c in codes)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang: Lang = context.pop("lang", None) or page_language(request)
    other: Lang = "en" if lang == "zh" else "zh"
    switch = dict(request.query_params)
    switch.pop("lang", None)
    actor = context.get("actor")
    if actor is not None and "scope_text" not in context:
        context["scope_text"] = scope_text(request, actor, lang)
    values = {
        "request": request,
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "t": lambda key, **v: text(key, lang, **v),
        "label": lambda kind, value: label(kind, value, lang),
        "percent": lambda rate: formats.percent(rate, lang),
        "duration": lambda seconds: formats.duration(seconds, lang),
        "china_time": lambda value, zone=True: formats.china_time(value, lang, zone=zone),
        "china_date": lambda value: formats.china_date(value, lang),
        "month_label": lambda value: formats.month_label(value, lang),
        "url": lambda path, **q: url_for_lang(lang, path, **q),
        "switch_url": url_for_lang(other, request.url.path, **switch),
        "path": request.url.path,
        **context,
    }
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
