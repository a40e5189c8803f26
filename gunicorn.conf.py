"""gunicorn reads this file from the working directory: the checkout runs with the package's own settings."""
from registry.gunicorn_conf import *  # noqa: F401,F403
