"""The WSGI application of an installed registry: `gunicorn -c python:registry.gunicorn_conf registry.wsgi:app`."""
from registry import create_app

app = create_app()
