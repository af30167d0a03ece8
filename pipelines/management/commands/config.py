"""`config export | apply | diff`: connectors and pipelines as a YAML file (docs/config.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connectors import audit
from pipelines.config.apply import apply
from pipelines.config.document import DocumentError, describe, dump, parse
from pipelines.config.export import export_workspace


class Command(BaseCommand):
    help = "Export the workspace as YAML, or apply (or diff) a YAML file to it."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        export = commands.add_parser("export", help="Write connectors and pipelines as YAML.")
        export.add_argument("--output", "-o", help="A file to write (default: standard output).")
        export.add_argument(
            "--connector",
            action="append",
            dest="slugs",
            metavar="SLUG",
            help="Only this connector (repeatable), with the pipelines between those exported.",
        )
        for name, text in (
            ("apply", "Make the workspace match FILE: all or nothing."),
            ("diff", "Show what applying FILE would change, changing nothing."),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("file", help="YAML or JSON; - reads standard input.")
            sub.add_argument(
                "--prune",
                action="store_true",
                help="Also delete connectors and pipelines the file does not name.",
            )
            if name == "apply":
                sub.add_argument("--dry-run", action="store_true", help="Plan only.")

    def handle(self, *args, action: str, **options):
        if action == "export":
            return self.export(options["output"], options["slugs"])
        dry_run = action == "diff" or options.get("dry_run", False)
        return self.apply(options["file"], dry_run=dry_run, prune=options["prune"])

    def export(self, output: str | None, slugs: list[str] | None) -> None:
        data = export_workspace(slugs)
        text = dump(data)
        if output:
            Path(output).write_text(text)
            self.stderr.write(
                f"Exported {len(data['connectors'])} connectors and "
                f"{len(data['pipelines'])} pipelines to {output}."
            )
        else:
            self.stdout.write(text, ending="")

    def apply(self, path: str, *, dry_run: bool, prune: bool) -> None:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            with audit.scope("command: config apply"):
                plan = apply(parse(text), dry_run=dry_run, prune=prune)
        except DocumentError as exc:
            lines = "\n".join(f"  {describe(p)}" for p in exc.problems)
            raise CommandError(f"{path}: nothing was changed.\n{lines}") from None
        for change in plan.changes:
            self.stdout.write(change.line(dry_run))
        for slug, token in plan.tokens.items():
            self.stdout.write(f"Token of {slug} (shown once): {token}")
        self.stdout.write(plan.summary())
