"""careapp: care-slot scheduling for a sub-district's elders and young children (一老一小)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from careapp.core.clock import Clock

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the app: settings from CAREAPP_* variables, then ``config`` overrides (tests), then extensions."""
    instance_path = instance_path or os.environ.get("CAREAPP_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True,
                template_folder=str(PROJECT_ROOT / "templates"), static_folder=str(PROJECT_ROOT / "static"))
    os.makedirs(app.instance_path, exist_ok=True)

    from careapp.config import from_environment

    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    app.extensions["careapp.clock"] = app.config.pop("CLOCK", None) or Clock()

    _init_extensions(app)
    from careapp import web

    # Before any route exists: every <int:...> in a URL is a database id, so one outside 1..MAX_ID is a 404.
    app.url_map.converters["int"] = web.IdConverter
    _register_blueprints(app)

    web.init_app(app)
    from careapp.cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from careapp import models  # noqa: F401  (the whole schema, for Alembic)
    from careapp.core.db import render_item_for_alembic
    from careapp.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                    compare_type=True, render_item=render_item_for_alembic)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from careapp.core import i18n

    i18n.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from careapp.accounts.audit_views import bp as audit_admin
    from careapp.accounts.views import bp as accounts
    from careapp.api import bp as api
    from careapp.booking.views import bp as booking
    from careapp.community.views import bp as community
    from careapp.coverage.reports import bp as reports
    from careapp.coverage.views import bp as coverage
    from careapp.family.feed_views import bp as calendar_feed
    from careapp.family.views import bp as family
    from careapp.childcare.views import bp as childcare
    from careapp.daycare.views import bp as daycare
    from careapp.enrolments.views import bp as enrolments
    from careapp.meals.billing_views import bp as billing
    from careapp.meals.views import bp as meals
    from careapp.notifications.views import bp as notifications
    from careapp.notifications.template_views import bp as messages
    from careapp.partners.admin_views import bp as partner_admin
    from careapp.partners.roster_views import bp as rosters
    from careapp.partners.views import bp as partners
    from careapp.scheduler.views import bp as scheduler_admin

    for blueprint in (accounts, family, booking, partners, community, coverage, reports, enrolments, daycare, meals, billing,
                      childcare, rosters, partner_admin, notifications, messages, scheduler_admin, audit_admin, calendar_feed,
                      api):
        app.register_blueprint(blueprint)
