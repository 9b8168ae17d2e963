"""Day-care pages: the day's transport list per service point."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("daycare", __name__, url_prefix="/daycare")
