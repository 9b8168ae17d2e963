"""Small input checks shared by several rules (one home for each)."""
from __future__ import annotations

import re

from careapp.core.errors import BadInput
from careapp.core.i18n import gettext as _

# PostgreSQL ``integer``: a larger id can match no row (and SQLite cannot even bind one past 2**63).
MAX_ID = 2**31 - 1
# C0 controls and DEL, except tab and line breaks: PostgreSQL refuses NUL in text, and none belongs in a name.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_name(name: str | None, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise BadInput(_("Please give a name."), fields={field: "required"})
    return name


def check_coordinates(latitude: float, longitude: float) -> None:
    if not -90 <= latitude <= 90:
        raise BadInput(_("Latitude is between -90 and 90."), fields={"latitude": "-90..90"})
    if not -180 <= longitude <= 180:
        raise BadInput(_("Longitude is between -180 and 180."), fields={"longitude": "-180..180"})
