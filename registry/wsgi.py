"""The WSGI application of an installed registry: `gunicorn -c python:registry.gunicorn_conf registry.wsgi:app`."""
from gunicorn.errors import AppImportError

from registry import create_app
from registry.startup import StartupError

try:
    app = create_app()
except StartupError as error:
    # gunicorn prints this error's message alone and stops, rather than a traceback from every worker it
    # would otherwise start again and again
    raise AppImportError(f"seizure-registry: error: {error}") from None
