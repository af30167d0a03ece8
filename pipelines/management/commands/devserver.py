"""`make run`: migrate, make sure an admin exists, then serve the web app and the workers together."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

PASSWORD_FILE = Path(settings.BASE_DIR) / ".admin-password"


class Command(BaseCommand):
    help = (
        "Run the web server and the django-q2 worker cluster together (development), until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port: int, host: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        first_run = not get_user_model().objects.exists()
        login = self.ensure_admin()
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"Super Connector is starting at {url}"))
        self.stdout.write(f"  {login}")
        self.stdout.write(f"  API docs: {url}api/v1/docs/   Admin: {url}admin/")
        if first_run:
            from pipelines.demo import first_run_lines

            for line in first_run_lines(url):
                self.stdout.write(line)
        self.stdout.write("  Press Ctrl-C to stop the web server and the workers.")
        self.serve(host, port)

    def ensure_admin(self) -> str:
        """Create a local admin on first run and print its generated password."""
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            if PASSWORD_FILE.exists():
                return f"Log in as admin / {PASSWORD_FILE.read_text().strip()}"
            return "Log in with your admin account (or: python manage.py createsuperuser)."
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        return f"Created an admin account: admin / {password} (also saved in {PASSWORD_FILE.name})"

    def serve(self, host: str, port: int) -> None:
        python = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        children = [
            subprocess.Popen([python, manage, "runserver", f"{host}:{port}", "--noreload"]),
            subprocess.Popen([python, manage, "qcluster"]),
        ]
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Stopped the web server and the workers.")
