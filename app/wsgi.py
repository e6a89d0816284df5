"""WSGI entry point for gunicorn (`app.wsgi:app`): reads the environment once per worker."""

from app import create_app

app = create_app()
