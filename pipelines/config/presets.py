"""Presets: configuration files for popular APIs, with a few inputs left for people to fill in.

A preset is a configuration document (docs/config.md) plus a `preset:` block naming it and
listing its inputs. `{input: NAME}` in the document stands for an input's value: as a whole
value (`token: {input: api_key}`) or inside a string (`"{input: base_url}/v1/send/email"`).
Starting from a preset fills the inputs in and applies the result through the same path as a
configuration file, so a preset can do nothing a file could not.

An input marked `secret: true` may only go where every page, API answer and export shows the
mask: a secret header's value, a secret variable, auth's secret keys (a Basic username only with
`username_secret: true`), verification's secrets, the signing secret. Anywhere else it would be
shown as typed, so `load` refuses the file, naming the input and the place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from connectors.auth import mask_auth
from connectors.models import Connector
from connectors.secret_variables import masked
from connectors.secrets import MASK
from connectors.verification import mask_verification
from pipelines.config.apply import Plan, apply
from pipelines.config.document import Document, DocumentError
from pipelines.mapping.models import Pipeline

PRESET_DIR = Path(__file__).resolve().parent / "presets"
INPUT = re.compile(r"\{input:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
KINDS = ("source", "destination", "ingest")


class PresetError(ValueError):
    """A preset file that cannot be offered (named, with what is wrong and where)."""


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    secret: bool
    example: str
    help: str = ""
    default: str = ""

    @property
    def required(self) -> bool:
        return not self.default

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "secret": self.secret,
            "required": self.required,
            "example": self.example,
            "default": self.default,
            "help": self.help,
        }


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    kind: str
    description: str
    docs_url: str
    inputs: tuple[Input, ...]
    # The document without its `preset:` block, inputs still unfilled.
    body: dict = field(repr=False)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "description": self.description,
            "docs_url": self.docs_url,
            "inputs": [i.as_dict() for i in self.inputs],
            "connectors": [c["slug"] for c in self.body.get("connectors", [])],
            "pipelines": [p["name"] for p in self.body.get("pipelines", [])],
        }

    def examples(self) -> dict[str, str]:
        return {i.name: i.example for i in self.inputs}

    def main_slug(self) -> str:
        """The connector a person lands on: the last one listed (sources come first)."""
        return self.body["connectors"][-1]["slug"]

    def fill(self, values: dict[str, Any]) -> dict:
        """The document with every input replaced; DocumentError names each missing one."""
        given = {i.name: str(values.get(i.name) or "").strip() or i.default for i in self.inputs}
        problems = [
            (f"inputs.{i.name}", None, f"Enter {i.label}.")
            for i in self.inputs
            if not given[i.name]
        ]
        if problems:
            raise DocumentError(problems)
        return substitute(self.body, given)


def substitute(value: Any, inputs: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"input"} and value["input"] in inputs:
            return inputs[value["input"]]
        return {k: substitute(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, inputs) for v in value]
    if isinstance(value, str):
        return INPUT.sub(lambda m: inputs.get(m.group(1), m.group(0)), value)
    return value


def references(value: Any) -> set[str]:
    """The input names a document uses."""
    if isinstance(value, dict):
        if set(value) == {"input"} and isinstance(value["input"], str):
            return {value["input"]}
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(references(v) for v in value))
    if isinstance(value, str):
        return set(INPUT.findall(value))
    return set()


def as_shown(connector: dict) -> dict:
    """A connector of a preset as pages, API answers and exports show it: secrets masked by the
    same functions they use."""
    shown = dict(connector)
    if isinstance(shown.get("auth"), dict):
        shown["auth"] = mask_auth(shown["auth"])
    if isinstance(shown.get("verification"), dict):
        shown["verification"] = mask_verification(shown["verification"])
    if isinstance(shown.get("headers"), list):
        shown["headers"] = [
            {**header, "value": MASK}
            if isinstance(header, dict) and header.get("secret")
            else header
            for header in shown["headers"]
        ]
    if isinstance(shown.get("secret_variables"), dict):
        shown["secret_variables"] = masked(shown["secret_variables"])
    for key in ("signing_secret", "previous_signing_secret"):
        if shown.get(key):
            shown[key] = MASK
    return shown


def placed(value: Any, where: str) -> list[tuple[str, str]]:
    """(path, input name) of every input `value` uses."""
    if isinstance(value, dict):
        if set(value) == {"input"} and isinstance(value["input"], str):
            return [(where, value["input"])]
        return [hit for k, v in value.items() for hit in placed(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in placed(v, f"{where}[{i}]")]
    if isinstance(value, str):
        return [(where, name) for name in INPUT.findall(value)]
    return []


def shown_secrets(body: dict, inputs: tuple[Input, ...]) -> list[tuple[str, str]]:
    """(path, input name) of each secret input the preset would put where it is shown."""
    secret = {i.name for i in inputs if i.secret}
    hits = [
        hit
        for index, connector in enumerate(body.get("connectors") or [])
        for hit in placed(as_shown(connector), f"connectors[{index}]")
    ]
    # Pipelines hold no secret field: a mapping's value or template is shown as written.
    hits += placed(body.get("pipelines") or [], "pipelines")
    return [(where, name) for where, name in hits if name in secret]


def load(path: Path) -> Preset:
    data = yaml.safe_load(path.read_text())
    head = data.pop("preset")
    inputs = tuple(
        Input(
            name=i["name"],
            label=i["label"],
            secret=bool(i.get("secret", False)),
            example=str(i.get("example", "")),
            help=i.get("help", ""),
            default=str(i.get("default", "")),
        )
        for i in head.get("inputs", [])
    )
    shown = shown_secrets(data, inputs)
    if shown:
        raise PresetError(
            f"{path.name}: "
            + "; ".join(
                f"the secret input '{name}' is at {where}, which is shown as written"
                for where, name in shown
            )
            + ". Put secrets where they are masked: a header with secret: true, "
            "secret_variables, auth's password, token, value or client_secret (or its username "
            "with username_secret: true), verification's secrets."
        )
    return Preset(
        name=head["name"],
        title=head["title"],
        kind=head["kind"],
        description=head["description"].strip(),
        docs_url=head["docs_url"],
        inputs=inputs,
        body=data,
    )


@cache
def all_presets() -> dict[str, Preset]:
    presets = [load(path) for path in sorted(PRESET_DIR.glob("*.yaml"))]
    return {p.name: p for p in sorted(presets, key=lambda p: (KINDS.index(p.kind), p.title))}


def get_preset(name: str) -> Preset | None:
    return all_presets().get(name)


def unique_names(document: dict) -> dict:
    """The document with slugs and pipeline names already taken given a suffix (-2, -3...), so
    starting from a preset twice makes a second set instead of changing the first."""
    taken_slugs = set(Connector.objects.values_list("slug", flat=True))
    taken_names = set(Pipeline.objects.values_list("name", flat=True))
    renamed: dict[str, str] = {}
    connectors = []
    for item in document.get("connectors", []):
        slug = free(item["slug"], taken_slugs, "-{n}")
        renamed[item["slug"]] = slug
        taken_slugs.add(slug)
        connectors.append({**item, "slug": slug})
    pipelines = []
    for item in document.get("pipelines", []):
        name = free(item["name"], taken_names, " ({n})")
        taken_names.add(name)
        pipelines.append(
            {
                **item,
                "name": name,
                "source": renamed.get(item["source"], item["source"]),
                "destination": renamed.get(item["destination"], item["destination"]),
            }
        )
    return {**document, "connectors": connectors, "pipelines": pipelines}


def free(name: str, taken: set[str], suffix: str) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = name + suffix.format(n=n)
    return candidate


def start_from(
    preset: Preset, values: dict[str, Any], *, dry_run: bool = False
) -> tuple[Plan, dict]:
    """Create the preset's connectors (and pipeline) with `values` for its inputs, all or
    nothing; the plan and the document applied (with the slugs it was given)."""
    document = unique_names(preset.fill(values))
    plan = apply(
        Document(document.get("connectors", []), document.get("pipelines", []), False),
        dry_run=dry_run,
        environ={},
    )
    return plan, document


def created(plan: Plan, document: dict) -> dict:
    """What starting from a preset made, for the API and the page that follows."""
    slugs = [c["slug"] for c in document.get("connectors", [])]
    by_slug = {c.slug: c for c in Connector.objects.filter(slug__in=slugs)}
    names = [p["name"] for p in document.get("pipelines", [])]
    pipelines = Pipeline.objects.filter(name__in=names).order_by("id")
    return {
        "summary": plan.summary(),
        "connectors": [
            {
                "id": by_slug[slug].pk,
                "slug": slug,
                "name": by_slug[slug].name,
                "kind": by_slug[slug].kind,
            }
            for slug in slugs
        ],
        "pipelines": [{"id": p.pk, "name": p.name} for p in pipelines],
        # Endpoint tokens: shown once, like the connector API's create.
        "tokens": plan.tokens,
    }
