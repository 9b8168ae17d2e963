"""Staff and volunteer shifts, and the day roster of a service point."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rosters", __name__, url_prefix="/partners")
