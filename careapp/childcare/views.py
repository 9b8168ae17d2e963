"""Childcare pages: check-in with the health check, check-out to an authorised adult."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("childcare", __name__, url_prefix="/childcare")
