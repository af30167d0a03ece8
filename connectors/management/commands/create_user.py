"""`manage.py create_user USERNAME --role editor`: a user with a role, in one line."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from connectors import audit
from connectors.roles import ROLES, set_role


class Command(BaseCommand):
    help = (
        "Create a user with a role (viewer, editor or admin). The password comes from "
        "--password or, better (it stays out of the shell history), --password-from-env VAR; "
        "without either the user cannot sign in until an admin sets one."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--password")
        secret.add_argument("--password-from-env", metavar="VAR")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, password, password_from_env, email, **options):
        password = self.password(password, password_from_env)
        user = create_user(username, role, password=password, email=email)
        sign_in = "with a password" if password else "without a password"
        self.stdout.write(f"Created {user.username} ({role}, {sign_in}).")

    def password(self, given: str | None, variable: str | None) -> str | None:
        if variable is None:
            return given
        if not os.environ.get(variable):
            raise CommandError(f"The environment variable {variable} is not set or empty.")
        return os.environ[variable]


def create_user(username: str, role: str, *, password: str | None = None, email: str = ""):
    User = get_user_model()
    if User._default_manager.filter(username=username).exists():
        raise CommandError(f"A user named {username} exists already.")
    if password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError("The password is refused: " + " ".join(exc.messages)) from None
    with audit.scope("command: create_user"):
        user = User.objects.create_user(username, email, password)
        set_role(user, role)
    return user
