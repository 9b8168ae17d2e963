"""Meal prices and subsidies: household statements and partner subsidy claims."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("billing", __name__, url_prefix="/billing")
