"""`make serve`: gunicorn and a qcluster together in the foreground, stopped by one signal."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from osmosproject.supervise import run_together

# Above gunicorn's graceful_timeout (30 s): a request in flight may finish.
STOP_TIMEOUT = 40


class Command(BaseCommand):
    help = (
        "Production serving on one machine: gunicorn (osmosproject/gunicorn.conf.py) and the "
        "django-q2 workers, until Ctrl-C or SIGTERM, which stops both once."
    )

    def handle(self, *args, **options):
        status = run_together(
            self.commands(), cwd=settings.BASE_DIR, stop_timeout=STOP_TIMEOUT, say=self.stderr.write
        )
        if status:
            raise CommandError(f"Stopped, exit status {status}.", returncode=status)
        self.stdout.write("Stopped the web server and the workers.")

    def commands(self) -> list[list[str]]:
        base = settings.BASE_DIR
        gunicorn_conf = str(base / "osmosproject" / "gunicorn.conf.py")
        return [
            [sys.executable, "-m", "gunicorn", "-c", gunicorn_conf, "osmosproject.wsgi"],
            [sys.executable, str(base / "manage.py"), "qcluster"],
        ]
