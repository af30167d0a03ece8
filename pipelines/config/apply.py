"""Applying a configuration document: validate everything, then change it all or nothing.

Each connector and pipeline goes through the management API's own serializers, so a file
accepts exactly what the API accepts. Whether an item changed is decided by comparing the
object before and after writing it (in a savepoint, undone when nothing changed), so a second
apply of the same file writes nothing and says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.db import transaction

from connectors.models import Connector
from connectors.serializers import ConnectorSerializer
from pipelines.config.document import Document, DocumentError, error_paths, resolve
from pipelines.config.export import connector_secrets, export_connector, export_pipeline
from pipelines.mapping.models import Pipeline
from pipelines.mapping.serializers import PipelineSerializer


@dataclass
class Change:
    action: str  # create, update, unchanged, delete, keep (not in the file, no --prune)
    kind: str  # connector, pipeline
    name: str
    fields: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = {
            "create": "would create" if dry_run else "created",
            "update": "would update" if dry_run else "updated",
            "unchanged": "unchanged",
            "delete": "would delete" if dry_run else "deleted",
            "keep": "not in the file, kept (--prune deletes it)",
        }[self.action]
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{verb:<12} {self.kind} {self.name}{detail}"


@dataclass
class Plan:
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    # Endpoint tokens of the connectors created: shown once, like the API's create.
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c.action in ("create", "update", "delete") for c in self.changes)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("create", "update", "unchanged", "delete", "keep"), 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def summary(self) -> str:
        if not self.changed:
            return "Nothing to change: the workspace already matches the file."
        c = self.counts()
        head = "Would change" if self.dry_run else "Changed"
        return (
            f"{head}: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
            f"{c['unchanged']} unchanged."
        )

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "changed": self.changed,
            "summary": self.summary(),
            "changes": [
                {"action": c.action, "kind": c.kind, "name": c.name, "fields": c.fields}
                for c in self.changes
            ],
            "tokens": self.tokens,
        }


def apply(document: Document, *, dry_run: bool = False, prune: bool = False, environ=None) -> Plan:
    """Apply `document`; raise DocumentError (nothing changed) listing every problem found."""
    environ = os.environ if environ is None else environ
    if prune and not document.whole:
        raise DocumentError([("", None, "--prune needs a whole workspace document.")])
    plan = Plan(dry_run=dry_run)
    problems: list[tuple[str, str]] = []
    with transaction.atomic():
        slugs = apply_connectors(document, plan, problems, environ)
        names = apply_pipelines(document, plan, problems, environ)
        if document.whole:
            leave_or_prune(plan, slugs, names, prune)
        if problems:
            transaction.set_rollback(True)
            raise DocumentError([(where, document.line(where), msg) for where, msg in problems])
        if dry_run:
            transaction.set_rollback(True)
            # The tokens of connectors that were not really created are no tokens.
            plan.tokens = {}
    return plan


def apply_connectors(document, plan, problems, environ) -> set[str]:
    seen: set[str] = set()
    for index, item in enumerate(document.connectors):
        where = f"connectors[{index}]"
        slug = item.get("slug")
        if not isinstance(slug, str) or not slug:
            problems.append((where, "Every connector needs its `slug`."))
            continue
        if slug in seen:
            problems.append((f"{where}.slug", f"The slug '{slug}' is used twice in the file."))
            continue
        seen.add(slug)
        missing: list[tuple[str, str]] = []
        data = resolve(item, where, missing, environ)
        problems.extend(missing)
        instance = Connector.objects.filter(slug=slug).first()
        serializer = ConnectorSerializer(instance, data=data, partial=instance is not None)
        if not serializer.is_valid():
            problems.extend(error_paths(serializer.errors, where))
            continue
        before = snapshot_connector(instance) if instance else None
        change = write(
            serializer, "connector", slug, before, snapshot_connector, lambda c: c.refresh_from_db()
        )
        plan.changes.append(change)
        token = getattr(serializer, "issued_token", None)
        if token:
            plan.tokens[slug] = token
    return seen


def apply_pipelines(document, plan, problems, environ) -> set[str]:
    seen: set[str] = set()
    for index, item in enumerate(document.pipelines):
        where = f"pipelines[{index}]"
        name = item.get("name")
        if not isinstance(name, str) or not name:
            problems.append((where, "Every pipeline needs its `name`."))
            continue
        if name in seen:
            problems.append((f"{where}.name", f"The pipeline name '{name}' is used twice."))
            continue
        seen.add(name)
        data = dict(item)
        for end in ("source", "destination"):
            connector = Connector.objects.filter(slug=data.get(end)).first()
            if connector is None:
                problems.append((f"{where}.{end}", f"No connector has the slug '{data.get(end)}'."))
                break
            data[end] = connector.pk
        else:
            existing = list(Pipeline.objects.filter(name=name)[:2])
            if len(existing) > 1:
                problems.append((f"{where}.name", f"Several pipelines are named '{name}'."))
                continue
            instance = existing[0] if existing else None
            serializer = PipelineSerializer(instance, data=data, partial=instance is not None)
            if not serializer.is_valid():
                problems.extend(error_paths(serializer.errors, where))
                continue
            before = snapshot_pipeline(instance) if instance else None
            plan.changes.append(write(serializer, "pipeline", name, before, snapshot_pipeline))
    return seen


def write(serializer, kind: str, name: str, before, snapshot, reload=None) -> Change:
    savepoint = transaction.savepoint()
    obj = serializer.save()
    if reload:
        reload(obj)
    after = snapshot(obj)
    if before is None:
        transaction.savepoint_commit(savepoint)
        return Change("create", kind, name)
    if after == before:
        transaction.savepoint_rollback(savepoint)
        return Change("unchanged", kind, name)
    transaction.savepoint_commit(savepoint)
    return Change("update", kind, name, changed_fields(before, after))


def leave_or_prune(plan: Plan, slugs: set[str], names: set[str], prune: bool) -> None:
    action = "delete" if prune else "keep"
    for pipeline in Pipeline.objects.exclude(name__in=names).order_by("name"):
        plan.changes.append(Change(action, "pipeline", pipeline.name))
        if prune:
            pipeline.delete()
    for connector in Connector.objects.exclude(slug__in=slugs).order_by("slug"):
        plan.changes.append(Change(action, "connector", connector.slug))
        if prune:
            connector.delete()


def snapshot_connector(connector: Connector) -> tuple[dict, dict]:
    return export_connector(connector), connector_secrets(connector)


def snapshot_pipeline(pipeline: Pipeline) -> tuple[dict, dict]:
    return export_pipeline(pipeline), {}


def changed_fields(before: tuple[dict, dict], after: tuple[dict, dict]) -> list[str]:
    """Names of what differs; a changed secret is named, never shown."""
    shown = [k for k in sorted({*before[0], *after[0]}) if before[0].get(k) != after[0].get(k)]
    secret = [
        f"{k} (secret)"
        for k in sorted({*before[1], *after[1]})
        if before[1].get(k) != after[1].get(k) and k not in shown
    ]
    return shown + secret
