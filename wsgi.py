"""WSGI entry point for gunicorn: `gunicorn -w 4 wsgi:app`."""
from registry import create_app

app = create_app()
