"""A family's standing enrolments: enrol, pause, resume, end."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("enrolments", __name__, url_prefix="/enrolments")
