"""The JSON API under /api/v1: bearer tokens, the same rules as the pages, and an OpenAPI document.

Each module below registers its routes on ``bp`` through the registry in :mod:`careapp.api.registry`.
"""
from careapp.api import (accounts, billing, booking, childcare, coverage, docs, enrolments, households,  # noqa: F401
                         meals, message_templates, notifications, partner_admin, partners,
                         rosters, scheduler)  # (they register the routes)
from careapp.api.registry import api, bp

__all__ = ["api", "bp"]
