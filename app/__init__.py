"""flask-multitier: a link shortener, and the kit that deploys it.

`create_app` (app/factory.py) builds the app. Importing the package loads nothing else, so that
gunicorn's master can read its settings (app.config) without loading the app, which its workers
load after the fork (with gevent, after the monkey-patching).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings

__version__ = "0.1.0"  # the one place the version lives (pyproject.toml reads it)


def create_app(settings: Settings | None = None) -> Flask:
    """The app for `settings` (default: read from the environment)."""
    from app.factory import create_app as build

    return build(settings)
