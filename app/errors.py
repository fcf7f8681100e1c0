"""Domain errors: one vocabulary for every refusal, each carrying its HTTP status.

Services raise these with a message a person can act on ("period: 2019-13 is
not a month"); they never build a response. One handler (`app.http.errors`)
turns any of them into the HTML error page or an RFC 9457 problem+json body,
and the command line prints the message on one line with a non-zero exit. So a
rule is refused the same way on every surface, and no route translates
exceptions by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class DomainError(Exception):
    """A refusal with a readable message and the HTTP status it stands for."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Per-field messages, for a form or a 422 that names each field.
        self.fields: dict[str, str] = dict(fields or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return self.message


class BadRequest(DomainError):
    """A malformed request: a filter, page token or parameter that cannot be read."""

    status = 400
    title = "Bad request"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """No such record, or not one the caller may see (never says which)."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The write clashes with what is stored: a duplicate, a rule about other records."""

    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    """The record changed since the caller read it (a stale version or ETag)."""

    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """A change without `If-Match`: it could overwrite an edit the caller has not seen."""

    status = 428
    title = "Precondition required"


class TooLarge(DomainError):
    status = 413
    title = "Body too large"


class Invalid(DomainError):
    """Well-formed input that breaks a rule; `fields` names each field's problem."""

    status = 422
    title = "Unprocessable content"


class Unavailable(DomainError):
    """The database is busy or unreachable: try again later (`Retry-After`)."""

    status = 503
    title = "Service unavailable"
