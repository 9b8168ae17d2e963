"""Meal help pages: menus, meal orders, kitchen and delivery sheets."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meals", __name__, url_prefix="/meals")
