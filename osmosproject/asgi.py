import os

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "osmosproject.settings")
application = get_asgi_application()

from connectors import secrets  # noqa: E402  (needs the settings loaded above)

# Fail at boot, not at the first request that reads a secret.
if secrets.derives_key():
    raise ImproperlyConfigured(secrets.MISSING_KEY)
