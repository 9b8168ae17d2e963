"""Domain errors: what a user can cause, with the HTTP status and code it maps to.

Rules raise these; the page layer turns them into a flash message and the API
into ``{"error": {"code", "message", "fields"}}``. Anything else is our bug.
"""
from __future__ import annotations


class CareappError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class BadInput(CareappError):
    status = 400
    code = "bad_input"


class NotAuthenticated(CareappError):
    status = 401
    code = "not_authenticated"


class Forbidden(CareappError):
    status = 403
    code = "forbidden"


class NotFound(CareappError):
    status = 404
    code = "not_found"


class Conflict(CareappError):
    """The request clashes with the current state (duplicate booking, wrong state)."""

    status = 409
    code = "conflict"


class RuleRefused(CareappError):
    """A care rule says no (ineligible, past a cutoff, capacity below bookings)."""

    status = 422
    code = "rule_refused"


class Throttled(CareappError):
    status = 429
    code = "throttled"


class Busy(CareappError):
    """The database is momentarily unavailable or contended; the client may retry."""

    status = 503
    code = "busy"
