"""Mapping transforms: small named steps written as strings (``trim``, ``to_date:%d/%m/%Y``).

A spec is a name, optionally followed by ``:`` and an argument; ``replace``
splits its argument once more into ``<old>:<new>``. Specs are checked when a
pipeline is saved (``validate_transform``) and composed into one function when
it runs (``compile_transforms``). None passes through every transform but
``default``, so a missing value stays missing until the destination schema
decides whether that is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from connectors.schema import CoercionError, coerce, describe

Transform = Callable[[Any], Any]


class TransformError(ValueError):
    """A value a transform cannot handle (``to_integer`` on "abc"); the message is for users."""


def _text_step(name: str, method: Callable[[str], str]) -> Transform:
    def step(value: Any) -> Any:
        if isinstance(value, str):
            return method(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        raise TransformError(f"'{name}' needs text, not {describe(value)}")

    return step


def _digits_only(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TransformError(f"'digits_only' needs text, not {describe(value)}")
    return "".join(c for c in value if "0" <= c <= "9")


def _coercing(type_name: str) -> Transform:
    def step(value: Any) -> Any:
        if value is None:
            return None
        try:
            return coerce(type_name, value)
        except CoercionError as exc:
            raise TransformError(str(exc)) from None

    return step


def _parsing(fmt: str, *, keep_time: bool) -> Transform:
    wanted = "date and time" if keep_time else "date"

    def step(value: Any) -> Any:
        if value is None:
            return None
        try:
            moment = datetime.strptime(value.strip(), fmt)
        except (AttributeError, ValueError):
            raise TransformError(
                f"{describe(value)} does not match the {wanted} format {fmt}"
            ) from None
        return moment.isoformat() if keep_time else moment.date().isoformat()

    return step


def _default(replacement: str) -> Transform:
    def step(value: Any) -> Any:
        return replacement if value is None or value == "" else value

    return step


def _replace(argument: str) -> Transform:
    old, new = argument.split(":", 1)
    return _text_step("replace", lambda text: text.replace(old, new))


def _split(separator: str) -> Transform:
    def step(value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        if not isinstance(value, str):
            raise TransformError(f"'split' needs text, not {describe(value)}")
        return value.split(separator)

    return step


def _join(separator: str) -> Transform:
    def step(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        parts = []
        for item in value:
            if isinstance(item, dict | list):
                raise TransformError(
                    f"'join' needs a list of values, and one item is {describe(item)}"
                )
            parts.append("" if item is None else coerce("string", item))
        return separator.join(parts)

    return step


def _truncate(argument: str) -> Transform:
    length = int(argument)

    def step(value: Any) -> Any:
        if isinstance(value, str | list):
            return value[:length]
        return value

    return step


_NO_ARGUMENT: dict[str, Transform] = {
    "trim": _text_step("trim", str.strip),
    "lower": _text_step("lower", str.lower),
    "upper": _text_step("upper", str.upper),
    "title": _text_step("title", str.title),
    "digits_only": _digits_only,
    "to_integer": _coercing("integer"),
    "to_number": _coercing("number"),
    "to_boolean": _coercing("boolean"),
}

# name -> (how to build the step from the argument, an example shown when the argument is bad)
_WITH_ARGUMENT: dict[str, tuple[Callable[[str], Transform], str]] = {
    "to_date": (lambda fmt: _parsing(fmt, keep_time=False), "to_date:%d/%m/%Y"),
    "to_datetime": (lambda fmt: _parsing(fmt, keep_time=True), "to_datetime:%d/%m/%Y %H:%M"),
    "default": (_default, "default:unknown"),
    "replace": (_replace, "replace:-:"),
    "split": (_split, "split:,"),
    "join": (_join, "join:, "),
    "truncate": (_truncate, "truncate:100"),
}

TRANSFORM_NAMES: list[str] = [*_NO_ARGUMENT, *_WITH_ARGUMENT]


def _build(spec: Any) -> Transform:
    if not isinstance(spec, str):
        raise ValueError(f"a transform is written as text, like 'trim', not {describe(spec)}")
    name, has_argument, argument = spec.partition(":")
    if name in _NO_ARGUMENT:
        if has_argument:
            raise ValueError(f"transform '{name}' takes no argument")
        return _NO_ARGUMENT[name]
    if name not in _WITH_ARGUMENT:
        raise ValueError(f"unknown transform '{name}'; use one of: {', '.join(TRANSFORM_NAMES)}")
    build, example = _WITH_ARGUMENT[name]
    problem = _argument_problem(name, argument if has_argument else None)
    if problem:
        raise ValueError(f"transform '{name}' {problem}, e.g. '{example}'")
    return build(argument)


def _argument_problem(name: str, argument: str | None) -> str:
    if argument is None:
        return "needs an argument after ':'"
    if name in ("to_date", "to_datetime") and "%" not in argument:
        return "needs a format with % codes"
    if name == "replace" and (":" not in argument or argument.startswith(":")):
        return "needs the text to find and its replacement, as replace:<old>:<new>"
    if name == "split" and argument == "":
        return "needs a separator"
    if name == "truncate" and not (argument.isascii() and argument.isdigit()):
        return "needs a whole number of characters"
    return ""


def validate_transform(spec: str) -> None:
    """Raise ValueError with a message for the user when ``spec`` is not a usable transform."""
    _build(spec)


def compile_transforms(specs: Sequence[str]) -> Transform:
    """One function applying ``specs`` in order; raises ValueError now for a bad spec,
    and TransformError later for a value a step cannot handle."""
    steps = tuple(_build(spec) for spec in specs)
    if not steps:
        return _identity
    if len(steps) == 1:
        return steps[0]

    def apply_all(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return apply_all


def _identity(value: Any) -> Any:
    return value
