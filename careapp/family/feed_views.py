"""The household calendar feed: an iCalendar file at a private link, fetched by a phone's calendar (no login)."""
from __future__ import annotations

from flask import Blueprint, Response, abort

from careapp.core.clock import now
from careapp.family.calendar import feed_ics, household_for_feed
from careapp.pages import LABELS

bp = Blueprint("calendar_feed", __name__)
MAX_TOKEN_LENGTH = 100  # secrets.token_urlsafe(32) is 43 characters; anything much longer is not ours


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    # The secret in the link is the only credential: an unknown or revoked one gets the same 404 as a missing page.
    household = household_for_feed(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if household is None:
        abort(404)
    body = feed_ics(household, now=now(), status_words=LABELS["booking_status"])
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="careapp.ics"',
        "Cache-Control": "private, max-age=900", "Referrer-Policy": "no-referrer"})
