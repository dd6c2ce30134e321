"""Conditional requests (RFC 9110 section 13.1): If-Match on appends, If-None-Match on reads.

**If-Match** (section 13.1.1) makes an append conditional on the case's version, whose
entity tag is ``"<version>"`` (what every append answers in ``ETag``, and the ``version``
of a case read). ``*`` or a comma-separated list of tags; the strong comparison function
decides, so a weak tag (``W/"2"``) never matches and a list matches when any of its tags
does. A header that is not a list of entity tags is 400 ``invalid_if_match``; no match is
412 ``version_conflict`` with the current version.

**If-None-Match** (section 13.1.2) on every read: the answer's ``ETag`` is a digest of
the exact body this reader gets now, so it covers everything the body depends on and the
version does not show: ``overdue`` (computed at the moment of the read), the reporter's
contact (by reader, and gone after erasure), names, the projections' position. A listed tag
(weak comparison) or ``*`` answers 304 with no body. Such tags are per reader:
``Cache-Control: private`` and ``Vary: Authorization``. docs/adr/0063-conditional-requests.md.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute

from api.http.problems import Problem

#: One entity-tag of a list (section 8.8.3): optional W/, then a quoted opaque tag.
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')


@dataclass(frozen=True)
class EntityTag:
    opaque: str
    weak: bool = False


def parse(header: str) -> list[EntityTag] | None:
    """The tags of an If-Match or If-None-Match value; None for ``*``. ValueError when the
    value is neither ``*`` nor a list of entity tags (empty list elements are allowed)."""
    if header.strip() == "*":
        return None
    tags: list[EntityTag] = []
    for element in header.split(","):
        if not element.strip():
            continue
        match = _TAG.fullmatch(element)
        if match is None:
            raise ValueError(f"not an entity tag: {element.strip()[:40]!r}")
        tags.append(EntityTag(match.group(2), match.group(1) is not None))
    if not tags:
        raise ValueError("no entity tag")
    return tags


def versions_matching(if_match: str | None) -> frozenset[int] | None:
    """The case versions an If-Match header accepts: None for no condition (no header, or
    ``*`` on a case that exists); else the versions named by its strong tags (possibly
    none: then nothing matches)."""
    if if_match is None:
        return None
    try:
        tags = parse(if_match)
    except ValueError as error:
        raise Problem(400, "invalid_if_match",
                      f'If-Match must be "*" or entity tags such as "3" or "3", "4": {error}'
                      ) from None
    if tags is None:
        return None
    return frozenset(int(t.opaque) for t in tags
                     if not t.weak and t.opaque.isascii() and t.opaque.isdigit()
                     and len(t.opaque) <= 9)


def body_tag(body: bytes) -> str:
    """The strong entity tag of a body: 128 bits of its SHA-256, base64url."""
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def _none_match(header: str, tag: str) -> bool:
    """Whether If-None-Match's condition is false (so: 304), by weak comparison."""
    try:
        tags = parse(header)
    except ValueError:
        return False  # not a list of tags: the condition is ignored, the full answer sent
    if tags is None:
        return True
    opaque = tag.strip('"')
    return any(t.opaque == opaque for t in tags)


PRIVATE = {"Cache-Control": "private", "Vary": "Authorization"}


def conditional(request: Request, response: Response) -> Response:
    """Tag a successful read's body, and answer 304 when If-None-Match lists its tag."""
    if response.status_code != 200 or isinstance(response, StreamingResponse):
        return response
    tag = body_tag(bytes(response.body))
    response.headers["ETag"] = tag
    response.headers.update(PRIVATE)
    header = request.headers.get("if-none-match")
    if header is not None and _none_match(header, tag):
        kept = {k: v for k, v in response.headers.items()
                if k.lower() not in ("content-length", "content-type")}
        return Response(status_code=304, headers=kept)
    return response


class ConditionalRoute(APIRoute):
    """A route whose GET answers carry a body tag and honour If-None-Match (``conditional``);
    other methods are untouched."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if "GET" not in (self.methods or ()):
            return handler

        async def answer(request: Request) -> Response:
            return conditional(request, await handler(request))

        return answer
