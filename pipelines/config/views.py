"""The configuration pages: the kind picker with its presets, starting from a preset, and
configuration files downloaded and uploaded (plan first, then apply on confirmation)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from connectors.models import Connector
from connectors.views import picker_rows, staff_required, token_key
from pipelines.config.apply import apply
from pipelines.config.document import MAX_DOCUMENT_BYTES, DocumentError, describe, dump, parse
from pipelines.config.export import export_workspace
from pipelines.config.presets import all_presets, get_preset, start_from


@staff_required
def connector_new(request):
    """Pick a kind, or start from a preset."""
    return render(
        request,
        "connectors/new.html",
        {"rows": picker_rows(), "presets": list(all_presets().values())},
    )


@staff_required
def preset_start(request, name: str):
    preset = get_preset(name)
    if preset is None:
        raise Http404("No such preset.")
    values = {i.name: request.POST.get(i.name, "") for i in preset.inputs}
    problems: list[str] = []
    # An input's own problem ("inputs.<name>") is shown next to its field, the others on top.
    input_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            plan, document = start_from(preset, values)
        except DocumentError as exc:
            for where, line, message in exc.problems:
                name = where.removeprefix("inputs.")
                if where.startswith("inputs.") and name in values:
                    input_errors.setdefault(name, []).append(message)
                else:
                    problems.append(describe((where, line, message)))
        else:
            by_slug = {c.slug: c for c in Connector.objects.filter(slug__in=plan.tokens)}
            for slug, token in plan.tokens.items():
                # Shown once, on the connector's page (connector_pages.detail_context).
                request.session[token_key(by_slug[slug])] = token
            main = Connector.objects.get(slug=document["connectors"][-1]["slug"])
            others = len(document["connectors"]) - 1 + len(document.get("pipelines", []))
            messages.success(
                request,
                f"Created “{main.name}” from the preset"
                + (f", with {others} more connector(s) and pipeline(s)." if others else "."),
            )
            return redirect("ui:connector", pk=main.pk)
    fields = [
        {
            "input": i,
            "value": "" if i.secret else values.get(i.name) or i.default,
            "errors": input_errors.get(i.name, []),
        }
        for i in preset.inputs
    ]
    return render(
        request,
        "config/preset.html",
        {"preset": preset, "fields": fields, "problems": problems, "refused": bool(input_errors)},
    )


@staff_required
@require_GET
def config_download(request):
    """The workspace, or the connectors named by `?connector=slug`, as a YAML file."""
    slugs = request.GET.getlist("connector") or None
    response = HttpResponse(dump(export_workspace(slugs)), content_type="application/yaml")
    name = slugs[0] if slugs and len(slugs) == 1 else "workspace"
    response["Content-Disposition"] = f'attachment; filename="{name}.yaml"'
    return response


@staff_required
def config_upload(request):
    """Choose a file, see the plan, confirm: the same document is posted again and applied."""
    context: dict = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None:
            text = upload.read(MAX_DOCUMENT_BYTES + 1)
        else:
            text = request.POST.get("document", "").encode()
        confirmed = upload is None and request.POST.get("confirm") == "apply"
        prune = request.POST.get("prune") == "on"
        context.update(
            prune=prune, filename=upload.name if upload else request.POST.get("filename")
        )
        if not text.strip():
            context["problems"] = ["Choose a YAML or JSON file first."]
        else:
            try:
                plan = apply(parse(text), dry_run=not confirmed, prune=prune)
            except DocumentError as exc:
                context["problems"] = [describe(p) for p in exc.problems]
            else:
                context.update(plan=plan, lines=[c.line(plan.dry_run) for c in plan.changes])
                if plan.dry_run:
                    context["document"] = text.decode("utf-8")
    return render(request, "config/upload.html", context)
