"""A pure ASGI guard in front of the app: body size and JSON nesting limits (请求限制).

Bodies larger than the limit are refused with 413 before they are read in full; bodies
nested deeper than the catalogue ever needs are refused with 422 before the JSON parser
could recurse on them. Both answer problem+json.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import Problem
from api.i18n import accepted


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit``."""
    depth = 0
    in_string = False
    escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, receive, send,
                                   Problem(400, "bad_request", "Content-Length is not a number"))
                return
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send, self._too_large())
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, self._too_large())
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if body and json_depth_exceeds(body, self.max_depth):
            problem = Problem(422, "invalid_data",
                              f"the body nests deeper than {self.max_depth} levels",
                              errors=[{"field": "body", "message": "nested too deeply"}])
            await self._refuse(scope, receive, send, problem)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> Problem:
        return Problem(413, "body_too_large",
                       f"the request body is larger than {self.max_bytes} bytes")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> Any:
        header = dict(scope.get("headers") or []).get(b"accept-language", b"")
        lang = accepted(header.decode("latin-1")) or "en"
        await problem.response(lang)(scope, receive, send)
