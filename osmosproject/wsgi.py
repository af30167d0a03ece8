import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "osmosproject.settings")
application = get_wsgi_application()

from connectors import secrets  # noqa: E402  (needs the settings loaded above)

# Fail at boot, not at the first request that reads a secret (gunicorn runs no system checks).
if secrets.derives_key():
    raise ImproperlyConfigured(secrets.MISSING_KEY)
