"""Production serving: gunicorn with several worker processes, each building its own app.

The schema must be migrated first (``careapp init-db``); ``careapp serve``
checks that before it starts. No worker runs the scheduler.
"""
from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

# What each worker loads, exactly as `gunicorn 'careapp:create_app()'` would.
APP_SPEC = "careapp:create_app()"


def default_workers() -> int:
    """Gunicorn's rule of thumb: 2 × cores + 1 (the cores this process may use)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 * cores + 1


def compile_templates(app) -> int:
    """Compile every page template now, while the worker starts, instead of in the first request that shows
    it: a large page's first showing in each worker took 50 ms more (Jinja compiling it and the templates it
    includes), which every worker paid once after each start, in front of a user. Their compiled code is
    then frozen out of the collector with the rest. Returns how many were compiled."""
    env = app.jinja_env
    names = env.list_templates(extensions=("html", "svg"))
    for name in names:
        env.get_template(name)
    return len(names)


class CareappServer(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Not preloaded: each worker builds the app after the fork, so no
        # database connection is ever shared between processes.
        app = import_app(APP_SPEC)
        compile_templates(app)
        # The app's ~200,000 start-up objects (modules, SQLAlchemy's mappers, translations) live as long as the
        # worker: kept out of the collector, a full collection scans only what requests leave behind, instead of
        # all of them (~85 ms on this machine, the pages' slow p95 fetches).
        gc.freeze()
        return app
