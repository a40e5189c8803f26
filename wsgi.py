from registry.wsgi import app  # noqa: F401  (the checkout's `gunicorn wsgi:app`)
