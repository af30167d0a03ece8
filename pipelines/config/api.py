"""The configuration file through the management API: export, and apply with a plan first."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.config.apply import apply
from pipelines.config.document import DocumentError, dump, error_paths, parse
from pipelines.config.export import export_workspace
from pipelines.config.presets import all_presets, created, get_preset, start_from


class ConfigExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("connector", str, many=True, description="Only these slugs."),
        ],
        # A YAML document (a mapping: version, connectors, pipelines), see docs/config.md.
        responses={(200, "application/yaml"): OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The workspace (or the connectors named) as a YAML configuration file."""
        slugs = request.query_params.getlist("connector") or None
        response = HttpResponse(dump(export_workspace(slugs)), content_type="application/yaml")
        name = slugs[0] if slugs and len(slugs) == 1 else "workspace"
        response["Content-Disposition"] = f'attachment; filename="{name}.yaml"'
        return response


class ApplyRequest(serializers.Serializer):
    document = serializers.CharField(trim_whitespace=False, help_text="YAML or JSON text.")
    dry_run = serializers.BooleanField(default=False)
    prune = serializers.BooleanField(default=False)


class ConfigApplyView(APIView):
    @extend_schema(
        request=ApplyRequest,
        responses={
            200: OpenApiTypes.OBJECT,
            400: inline_serializer(
                "ConfigProblems",
                {
                    "detail": serializers.CharField(),
                    "problems": serializers.ListField(
                        child=serializers.DictField(), required=False
                    ),
                },
            ),
        },
    )
    def post(self, request):
        """Apply a configuration file, all or nothing; `dry_run` returns the plan only."""
        body = ApplyRequest(data=request.data)
        try:
            if not body.is_valid():
                raise DocumentError([(w, None, m) for w, m in error_paths(body.errors, "")])
            plan = apply(
                parse(body.validated_data["document"]),
                dry_run=body.validated_data["dry_run"],
                prune=body.validated_data["prune"],
            )
        except DocumentError as exc:
            return problems_response(exc)
        return Response(plan.as_dict())


class PresetInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    secret = serializers.BooleanField(help_text="Entered in a password field; stored encrypted.")
    required = serializers.BooleanField()
    example = serializers.CharField()
    default = serializers.CharField(allow_blank=True)
    help = serializers.CharField(allow_blank=True)


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField(help_text="source, destination or ingest.")
    description = serializers.CharField()
    docs_url = serializers.URLField(help_text="The vendor's API reference the preset follows.")
    inputs = PresetInputSerializer(many=True)
    connectors = serializers.ListField(child=serializers.CharField(), help_text="Slugs made.")
    pipelines = serializers.ListField(child=serializers.CharField(), help_text="Names made.")


class PresetDocumentSerializer(PresetSerializer):
    document = serializers.DictField(help_text="The configuration, inputs as {input: NAME}.")


class PresetListView(APIView):
    @extend_schema(operation_id="presets_list", responses={200: PresetSerializer(many=True)})
    def get(self, request):
        """The presets: `name`, `title`, `kind`, `description`, `docs_url`, `inputs`."""
        return Response([preset.as_dict() for preset in all_presets().values()])


class PresetDetailView(APIView):
    @extend_schema(responses={200: PresetDocumentSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, name: str):
        """One preset, with its `document` (inputs unfilled)."""
        preset = get_preset(name)
        if preset is None:
            return Response({"detail": f"No preset is named '{name}'."}, status=404)
        return Response({**preset.as_dict(), "document": preset.body})


class PresetCreateView(APIView):
    @extend_schema(
        request=inline_serializer(
            "PresetInputs", {"inputs": serializers.DictField(child=serializers.CharField())}
        ),
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request, name: str):
        """Create the preset's connectors (and pipeline) from `inputs`; tokens are shown once."""
        preset = get_preset(name)
        if preset is None:
            return Response({"detail": f"No preset is named '{name}'."}, status=404)
        inputs = request.data.get("inputs", {}) if isinstance(request.data, dict) else None
        if not isinstance(inputs, dict):
            return Response(
                {"detail": 'Send {"inputs": {"NAME": "value", ...}}.'},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            plan, document = start_from(preset, inputs)
        except DocumentError as exc:
            return problems_response(exc)
        return Response(created(plan, document), status=status.HTTP_201_CREATED)


def problems_response(exc: DocumentError) -> Response:
    problems = [
        {"where": where, "line": line, "message": message} for where, line, message in exc.problems
    ]
    return Response(
        {"detail": "Nothing was changed.", "problems": problems},
        status=status.HTTP_400_BAD_REQUEST,
    )
