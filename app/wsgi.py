"""WSGI entry point for gunicorn (`app.wsgi:app`): reads the environment once per worker.

gunicorn.conf.py checks the same settings in the master before it forks, so with it a bad
environment is reported once; here it only stops a worker started without that file.
"""

from __future__ import annotations

from gunicorn.errors import AppImportError

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # gunicorn prints an AppImportError's message alone, without a traceback, and stops
    raise AppImportError(str(exc)) from None
