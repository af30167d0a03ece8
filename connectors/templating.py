"""Sandboxed ``{{ placeholder }}`` templates for mappings, URLs, headers and bodies.

Templates are written by users and rendered by workers on every record, so
beside Jinja's sandbox (no ``__class__``, no ``__globals__``) this module
bounds what one render may cost: the output size, loop iterations, the items
filters walk, ``range()``, the operations that can build a huge value from a
small template (``'a' * 10**9``, ``9 ** 9 ** 9``, ``'%999999999d' % 1``, padding
methods), and the wall-clock time (``settings.TEMPLATE_RENDER_BUDGET_MS`` per
render; a ``RenderBudget`` shared by the renders of a batch bounds them all).
Compiling refuses templates nested deeper than the parser's recursion allows.
Filters and globals are an allow-list of what a no-code user needs.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
import time
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    meta,
    nodes,
    pass_environment,
)
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_OUTPUT_CHARS = 100_000
# Work done by the guarded operations of one render, in characters (or items) built.
MAX_WORK_CHARS = 1_000_000
MAX_LOOP_ITERATIONS = 100_000
# Items that filters such as sort, unique or map walk in one render.
MAX_FILTER_ITEMS = 100_000
MAX_RANGE = 10_000
MAX_INTEGER_BITS = 100_000
# Jinja's parser and compiler recurse once per level (14 Python frames per bracket):
# deeper templates would exhaust Python's stack instead of failing with a message.
MAX_TEMPLATE_BRACKETS = 20
MAX_TEMPLATE_DEPTH = 50


class TemplateError(ValueError):
    """A template that cannot be compiled or rendered; the message says where and why."""


class TemplateTimeout(TemplateError):
    """A render ran out of time: its own, or what was left of its batch's ``RenderBudget``."""


class RenderBudget:
    """Template time shared by many renders, e.g. all the records of one batch.

    Only time spent rendering counts (not the database or network work between renders);
    each render is still bounded by ``TEMPLATE_RENDER_BUDGET_MS`` on its own.
    """

    def __init__(self, ms: float) -> None:
        self.ms = ms
        self.spent = 0.0  # seconds

    @property
    def remaining(self) -> float:
        return self.ms / 1000 - self.spent


_batch: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar(
    "template_batch_budget", default=None
)


@contextlib.contextmanager
def batch_budget(ms: float) -> Iterator[RenderBudget]:
    """Every render inside the block (that is given no budget of its own) spends from one
    ``RenderBudget`` of ``ms``: a caller bounds a batch without passing it to each render."""
    budget = RenderBudget(ms)
    token = _batch.set(budget)
    try:
        yield budget
    finally:
        _batch.reset(token)


@dataclass
class _Budget:
    deadline: float
    reason: str
    work: int = MAX_WORK_CHARS
    iterations: int = MAX_LOOP_ITERATIONS
    items: int = MAX_FILTER_ITEMS


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("template_budget")


def _check_clock(budget: _Budget | None = None) -> None:
    budget = budget or _budget.get()
    if time.monotonic() > budget.deadline:
        raise TemplateTimeout(budget.reason)


def _spend(amount: int) -> None:
    budget = _budget.get()
    budget.work -= amount
    if amount > MAX_OUTPUT_CHARS or budget.work < 0:
        raise TemplateError(
            f"the template builds a value longer than {MAX_OUTPUT_CHARS} characters"
        )


def _measure(value: Any, limit: int = MAX_WORK_CHARS) -> int:
    """Rough size of a value once printed, giving up (returning > limit) as soon as it is too big."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        total = len(value)
        for item in value:
            total += _measure(item, limit - total)
            if total > limit:
                break
        return total
    return 8


def _bounded_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget.get()
    for item in iterable:
        budget.iterations -= 1
        if budget.iterations < 0:
            raise TemplateError(f"the template loops more than {MAX_LOOP_ITERATIONS} times")
        _check_clock(budget)
        yield item


def _spend_items(count: int) -> None:
    budget = _budget.get()
    budget.items -= count
    if budget.items < 0:
        raise TemplateError(f"the template's filters go through more than {MAX_FILTER_ITEMS} items")
    _check_clock(budget)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _spend_items(1)
        yield item


def _walking(function: Any) -> Any:
    """A filter that walks its whole input (sort, map, ...), its items counted before it starts:
    sorting a million-item list is one Python call that no deadline check can interrupt."""
    value_at = 1 if hasattr(function, "jinja_pass_arg") else 0

    @functools.wraps(function)
    def walk(*args: Any, **kwargs: Any) -> Any:
        value = args[value_at]
        if isinstance(value, Sized):
            _spend_items(len(value))
        else:
            args = (*args[:value_at], _counted(value), *args[value_at + 1 :])
        return function(*args, **kwargs)

    return walk


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise TemplateError(f"range() gives at most {MAX_RANGE} numbers")
    return numbers


_PRINTF_WIDTH = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(text: str) -> None:
    for match in _PRINTF_WIDTH.finditer(text):
        for width in match.groups():
            if width == "*" or (width and int(width) > 1000):
                raise TemplateError("'%' formatting with a width over 1000 is not allowed")


def _guarded_replace(text: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = _text(text), _text(old), _text(new)
    hits = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    _spend(len(text) + hits * max(len(new) - len(old), 0))
    return text.replace(old, new) if count is None else text.replace(old, new, count)


def _guarded_join(separator: Any, items: Iterable[Any]) -> str:
    items, separator = list(items), _text(separator)
    _spend(len(separator) * len(items) + _measure(items))
    return separator.join(_text(item) for item in items)


def _text(value: Any) -> str:
    """How a value prints: None as nothing, booleans and containers as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | dict | list | tuple):
        return _compact_json(value)
    return str(value)


def _compact_json(value: Any) -> str:
    # [x, x] nested a few times is small in memory and enormous once printed.
    if _measure(value, MAX_OUTPUT_CHARS) > MAX_OUTPUT_CHARS:
        raise TemplateError(
            f"the template prints a value longer than {MAX_OUTPUT_CHARS} characters"
        )
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _concat(parts: list[Any]) -> str:
    """The ``~`` operator, counted against the budget: a chain of ``{% set x = x ~ x %}`` doubles."""
    texts = [_text(part) for part in parts]
    _spend(sum(len(text) for text in texts))
    return "".join(texts)


# --- filters ---------------------------------------------------------------


def _filter_default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Jinja's default, but a null or empty field also counts as missing: records have those."""
    if isinstance(value, Undefined) or value is None or value == "" or (boolean and not value):
        return default_value
    return value


def _filter_join(value: Iterable[Any], separator: str = "") -> str:
    return _guarded_join(separator, value)


def _filter_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    return _guarded_replace(value, old, new, count)


def _filter_truncate(value: Any, length: int = 255, end: str = "...") -> str:
    """At most ``length`` characters, ``end`` included; unlike Jinja's, no word-boundary guessing."""
    text = _text(value)
    if len(text) <= length:
        return text
    return text[: max(length - len(end), 0)] + end


def _filter_tojson(value: Any) -> str:
    return _compact_json(value)


@pass_environment
def _filter_sum(environment: Any, values: Any, attribute: Any = None, start: Any = 0) -> Any:
    """Jinja's sum, for numbers only: summing lists would concatenate them without a bound."""
    if not isinstance(start, int | float):
        raise TemplateError("sum adds numbers; start must be a number")
    return JINJA_FILTERS["sum"](environment, values, attribute=attribute, start=start)


def _filter_urlencode(value: Any) -> str:
    """Quote text for a URL path segment or query value (``/`` too); a dict becomes a query string."""
    if isinstance(value, dict):
        return urlencode({k: _text(v) for k, v in value.items()})
    return quote(_text(value), safe="")


_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*[0-9]")


def _filter_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    if len(fmt) > 100 or _STRFTIME_WIDTH.search(fmt):
        raise TemplateError(f"{fmt!r} is not a usable date format")
    moment: date | None = value if isinstance(value, date) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None:
        shown = f"'{value[:40]}'" if isinstance(value, str) else type(value).__name__
        raise TemplateError(f"{shown} is not a date")
    return moment.strftime(fmt)


# fmt: off
_SAFE_JINJA_FILTERS = (
    "abs", "capitalize", "count", "dictsort", "first", "float", "int", "items", "last",
    "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse",
    "round", "select", "selectattr", "sort", "title", "trim", "unique", "upper", "wordcount",
)
# fmt: on

_WALKING_FILTERS = frozenset(
    {
        "dictsort",
        "list",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "reverse",
        "select",
        "selectattr",
        "sort",
        "unique",
    }
)
FILTERS: dict[str, Any] = {
    name: _walking(JINJA_FILTERS[name]) if name in _WALKING_FILTERS else JINJA_FILTERS[name]
    for name in _SAFE_JINJA_FILTERS
}
FILTERS.update(
    {
        "d": _filter_default,
        "default": _filter_default,
        "join": _walking(_filter_join),
        "replace": _filter_replace,
        "tojson": _filter_tojson,
        "truncate": _filter_truncate,
        "urlencode": _filter_urlencode,
        "date": _filter_date,
        "string": _text,
        "sum": _walking(_filter_sum),
        # Inserted by _guard_tree around every {% for %} iterable and every ~.
        "_bounded_loop": _bounded_loop,
        "_concat": _concat,
    }
)

# Methods a template may call; anything else on these types (ljust, zfill, format,
# to_bytes, ...) can build huge values or is of no use in a mapping.
# fmt: off
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({
        "lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize", "casefold",
        "swapcase", "startswith", "endswith", "split", "rsplit", "splitlines", "partition",
        "rpartition", "find", "rfind", "index", "rindex", "count", "removeprefix",
        "removesuffix", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper",
        "isnumeric", "isdecimal", "replace", "join",
    }),
    dict: frozenset({"keys", "values", "items", "get"}),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
}
# fmt: on


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if not callable(value):
            return True
        for kind, allowed in _SAFE_METHODS.items():
            if isinstance(obj, kind):
                return attr in allowed
        return not isinstance(obj, int | float | bytes | set | frozenset)

    def wrap_str_format(self, value: Any) -> None:
        # str.format is not in _SAFE_METHODS; without this Jinja would hand out its own wrapper.
        return None

    def getattr(self, obj: Any, attribute: str) -> Any:
        return (
            self.getitem(obj, attribute)
            if attribute.startswith("_")
            else super().getattr(obj, attribute)
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        # A record's "_id" is data; any other underscore name is Python's internals.
        if isinstance(argument, str) and argument.startswith("_"):
            if isinstance(obj, dict) and argument in obj:
                return obj[argument]
            raise SecurityError(f"'{argument}' is not allowed in templates")
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"'{attribute}' is not allowed in templates")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_clock()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") == "replace":
            return _guarded_replace(owner, *args, **kwargs)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") == "join":
            return _guarded_join(owner, *args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_clock()
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
            _spend(len(left) + _measure(right))
            result = left % right
            _spend(len(result))
            return result
        elif operator == "+" and isinstance(left, str | list | tuple):
            _spend(_measure(left) + _measure(right))
        return super().call_binop(context, operator, left, right)


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            _spend(_measure(sequence) * max(times, 0))
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS
    ):
        raise TemplateError("the template builds a number that is too large")


def _check_power(base: Any, exponent: Any) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and abs(base) > 1
        and exponent > 0
        and base.bit_length() * exponent > MAX_INTEGER_BITS
    ):
        raise TemplateError("the template builds a number that is too large")


def _make_environment(undefined: type[Undefined]) -> _Environment:
    env = _Environment(autoescape=False, undefined=undefined, finalize=_text)
    env.filters = dict(FILTERS)
    # namespace would let a loop grow a value across iterations, lipsum/cycler/joiner have
    # no use here.
    env.globals = {"range": _range, "dict": dict}
    return env


_ENVIRONMENTS = {
    False: _make_environment(ChainableUndefined),
    True: _make_environment(StrictUndefined),
}

# Macros and block captures build output outside the streamed, size-checked render;
# nothing loads other templates.
_REFUSED_NODES = {
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.AssignBlock: "{% set %}...{% endset %} blocks",
    nodes.FilterBlock: "filter blocks",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "import",
}


class _Guard(NodeTransformer):
    """Rewrites a parsed template so that loops and ``~`` count against the render's budget."""

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        refused = _REFUSED_NODES.get(type(node))
        if refused:
            raise TemplateError(f"line {node.lineno}: {refused} are not supported in templates")
        return super().generic_visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For) -> nodes.For:
        if node.recursive:
            raise TemplateError(f"line {node.lineno}: recursive loops are not supported")
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_bounded_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        node = self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, "_concat", [], [], None, None, lineno=node.lineno)


def is_template(text: Any) -> bool:
    """True when a string has placeholders or tags; constant strings can skip Jinja."""
    return isinstance(text, str) and ("{{" in text or "{%" in text or "{#" in text)


@dataclass(frozen=True)
class CompiledTemplate:
    source: str
    strict: bool
    variables: frozenset[str]
    _template: Any = field(repr=False, compare=False)

    def render(self, context: dict, budget: RenderBudget | None = None) -> str:
        """Render over ``context``; any failure (undefined in strict mode, a refused
        attribute, a value too large, too slow, a filter given a bad value) is a TemplateError.

        ``budget``, when given (or set by ``batch_budget``), is the time left to a batch of
        renders; this one spends from it.
        """
        started = time.monotonic()
        budget = budget or _batch.get()
        per_render = settings.TEMPLATE_RENDER_BUDGET_MS / 1000
        reason = f"the template took longer than {settings.TEMPLATE_RENDER_BUDGET_MS:g} ms"
        if budget is not None and budget.remaining < per_render:
            per_render = budget.remaining
            reason = f"the templates of this batch took longer than {budget.ms:g} ms in all"
        state = _Budget(deadline=started + per_render, reason=reason)
        token = _budget.set(state)
        try:
            if per_render <= 0:
                raise TemplateTimeout(reason)
            chunks = []
            size = 0
            for chunk in self._template.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateError(f"the result is longer than {MAX_OUTPUT_CHARS} characters")
                _check_clock(state)
                chunks.append(chunk)
            return "".join(chunks)
        except TemplateError:
            raise
        except (JinjaTemplateError, SecurityError) as exc:
            raise TemplateError(exc.message or type(exc).__name__) from None
        except RecursionError:
            raise TemplateError("the template nests too deeply") from None
        except Exception as exc:  # whatever a user's template trips over is that template's error
            raise TemplateError(f"the template failed: {exc}") from None
        finally:
            _budget.reset(token)
            if budget is not None:
                budget.spent += time.monotonic() - started


def _check_brackets(env: _Environment, text: str) -> None:
    """Refuse brackets and unary operators nested deeper than the parser can recurse, before it does."""
    depth = run = 0
    for lineno, kind, value in env.lex(text):
        if kind == "whitespace":
            continue
        if kind == "operator" and value in "([{":
            depth += 1
        elif kind == "operator" and value in ")]}":
            depth -= 1
        run = run + 1 if (kind == "operator" and value in "+-") or value == "not" else 0
        if depth > MAX_TEMPLATE_BRACKETS or run > MAX_TEMPLATE_BRACKETS:
            raise TemplateError(
                f"line {lineno}: the template nests too deeply "
                f"(at most {MAX_TEMPLATE_BRACKETS} brackets or signs in a row)"
            )


def _check_depth(tree: nodes.Node) -> None:
    """Refuse chains (filters, operators, attributes, blocks) deeper than the compiler can recurse."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TEMPLATE_DEPTH:
            raise TemplateError(
                f"line {node.lineno}: the template nests too deeply "
                f"(at most {MAX_TEMPLATE_DEPTH} filters, operations or blocks inside each other)"
            )
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


@functools.lru_cache(maxsize=1024)
def compile_template(text: str, *, strict: bool = False) -> CompiledTemplate:
    """Compile once; ``strict`` makes an undefined placeholder an error (URLs use it),
    otherwise it renders as nothing (mappings)."""
    env = _ENVIRONMENTS[strict]
    try:
        _check_brackets(env, text)
        tree = env.parse(text)
        _check_depth(tree)
        variables = frozenset(meta.find_undeclared_variables(tree))
        tree = _Guard().visit(tree)
        template = env.from_string(tree)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    except JinjaTemplateError as exc:
        raise TemplateError(exc.message or "the template is not valid") from None
    except RecursionError:  # the limits above keep well clear of it; this is the last resort
        raise TemplateError("the template nests too deeply") from None
    return CompiledTemplate(source=text, strict=strict, variables=variables, _template=template)


def render_template(
    text: str, context: dict, *, strict: bool = False, budget: RenderBudget | None = None
) -> str:
    """Render a string that may or may not be a template, skipping Jinja for constants."""
    if not is_template(text):
        return text
    return compile_template(text, strict=strict).render(context, budget)
