"""Request-body limits, checked before any route sees the body.

* Bodies over `max_body_bytes` are refused with 413 while being read, so a
  huge upload never sits in memory.
* JSON bodies must be valid UTF-8 and nested at most `max_json_depth` deep:
  Python's json parser recurses, and a body of 100,000 '[' would otherwise
  end in a RecursionError (a 500) instead of a clear 400.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY = 1_048_576  # 1 MiB: far above any form or API write
DEFAULT_MAX_UPLOAD = 64 * 1_048_576  # CSV imports
DEFAULT_MAX_JSON_DEPTH = 32


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        upload_paths: tuple[str, ...] = (),
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.upload_paths = upload_paths
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = (
            self.max_upload_bytes
            if self.upload_paths and scope["path"].startswith(self.upload_paths)
            else self.max_body_bytes
        )
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if (declared.isascii() and declared.isdigit()) and int(declared) > limit:
            await _problem(send, 413, "Body too large", self._too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _problem(send, 413, "Body too large", self._too_large(limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if "json" in headers.get("content-type", "") and body:
            problem = self._check_json(body)
            if problem:
                await _problem(send, 400, "Bad request", problem)
                return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int) -> str:
        return f"the request body is larger than {limit} bytes"

    def _check_json(self, body: bytes) -> str | None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"the body is not valid UTF-8 (byte {exc.start})"
        depth = deepest = 0
        in_string = escaped = False
        for char in text:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
                deepest = max(deepest, depth)
                if deepest > self.max_json_depth:
                    return f"JSON nested deeper than {self.max_json_depth} levels"
            elif char in "]}":
                depth -= 1
        return None


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    payload = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
