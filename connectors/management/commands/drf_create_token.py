"""`manage.py drf_create_token USER`: a management API token, printed once.

It keeps the name and the output of Django REST framework's command ("Generated token <key>
for user <user>", so `| awk '{print $3}'` gives the key), but the token is stored hashed.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from connectors import audit
from connectors.api_tokens import ApiToken


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print it once (only its hash is stored). "
        "Send it as `Authorization: Token <key>`."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            help="Revoke the user's other tokens first.",
        )
        parser.add_argument("--name", default="drf_create_token", help="A name to tell it by.")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Expire after so many days."
        )

    def handle(self, *args, **options):
        username = options["username"]
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is None:
            raise CommandError(f"Cannot create the token for user {username}: no such user.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        with audit.scope("command: drf_create_token"):
            if options["reset"]:
                ApiToken.objects.filter(user=user).revoke()
            _, key = ApiToken.issue(
                user,
                name=options["name"],
                expires_in=timedelta(days=days) if days else None,
            )
        self.stdout.write(f"Generated token {key} for user {username}")
