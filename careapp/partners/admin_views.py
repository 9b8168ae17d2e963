"""Partner registration and approval, the partner profile, rooms and staff accounts."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("partner_admin", __name__, url_prefix=None)
