"""The WSGI entry point for gunicorn or any WSGI server: ``gunicorn wsgi:app``.

Settings come from CAREAPP_* variables; migrate the schema first
(``careapp init-db``). Web workers never run the scheduler.
"""
from careapp import create_app

app = create_app()
