"""Security middleware: CSRF tokens on every unsafe request, and security headers.

A small pure-ASGI middleware rather than a dependency, so that every form in
the app is covered, including routes other modules add later.

CSRF design (signed double submit): the browser holds a random value in the
HttpOnly cookie `pt_csrf`; forms carry HMAC(secret, value) in the hidden
field `csrf_token` (or the `X-CSRF-Token` header). Another site can make the
browser send the cookie, but cannot read it, so cannot compute the token.
JSON API routes under /api/ authenticate with bearer tokens, never cookies,
so they are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "pt_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# The methods that change data; only these need a CSRF token. Anything else
# (GET, HEAD, or a method no route accepts) goes on to the router, which
# answers 405 with an Allow header where the method is unknown.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 50 * 1024 * 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# The OpenAPI page loads its own scripts; it gets the headers but not the strict CSP.
CSP_EXEMPT_PREFIXES = ("/docs", "/redoc")


def csrf_token_for(secret: str, cookie_value: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token to put in this request's forms (the middleware set the cookie value)."""
    value: str = request.scope["pt_csrf_value"]
    secret: str = request.app.state.settings.pledges_secret_key
    return csrf_token_for(secret, value)


def csrf_field(request: Request) -> Markup:
    """A hidden input carrying the CSRF token, for templates: {{ csrf_field(request) }}."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token(request))


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name and v:
                    return str(v)
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        existing = _cookie(scope, CSRF_COOKIE)
        value = existing if existing and len(existing) <= 100 else secrets.token_urlsafe(32)
        scope["pt_csrf_value"] = value
        path: str = scope.get("path", "")

        if (
            scope["method"] in UNSAFE_METHODS
            and not path.startswith("/api/")
            and _a_route_accepts(scope)
        ):
            body, too_large = await _read_body(receive)
            if too_large:
                await PlainTextResponse("Request too large", status_code=413)(scope, receive, send)
                return
            sent = _header(scope, b"x-csrf-token") or await _form_token(scope, body)
            expected = csrf_token_for(self.secret, value)
            if existing is None or not sent or not hmac.compare_digest(sent, expected):
                response = _forbidden(scope)
                await response(scope, receive, send)
                return
            receive = _replay(body)

        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, header_value in SECURITY_HEADERS.items():
                    if name.encode() in present:
                        continue
                    if name == "content-security-policy" and path.startswith(CSP_EXEMPT_PREFIXES):
                        continue
                    headers.append((name.encode(), header_value.encode()))
                if existing != value:
                    cookie = f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
                    if secure:
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    done = False

    async def receive() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_token(scope: Scope, body: bytes) -> str | None:
    content_type = (_header(scope, b"content-type") or "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        found = values.get(CSRF_FIELD)
        return found[0] if found else None
    if content_type.startswith("multipart/form-data"):
        request = Request(scope, _replay(body))
        try:
            form = await request.form()
        except (MultiPartException, HTTPException):
            # A malformed multipart body (no boundary, broken parts) carries no
            # token: refused as a failed CSRF check, never a 500.
            return None
        token = form.get(CSRF_FIELD)
        await form.close()
        return token if isinstance(token, str) else None
    return None


def _forbidden(scope: Scope) -> Response:
    message = (
        "This form has expired or did not come from this site (CSRF check failed). "
        "Go back, reload the page and try again."
    )
    accept = _header(scope, b"accept") or ""
    app = scope.get("app")
    if "text/html" in accept and app is not None:
        request = Request(scope)
        response: Response = app.state.templates.TemplateResponse(
            request,
            "error.html",
            {"title": "Form check failed", "detail": message, "status": 403},
            status_code=403,
        )
        return response
    return PlainTextResponse(message, status_code=403)


def _a_route_accepts(scope: Scope) -> bool:
    """Whether some route takes this method at this path.

    A write to a path or with a method that nothing accepts gets the router's
    404 or 405 (with Allow), not a CSRF refusal that would hide the real reason.
    """
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in router.routes)
