from __future__ import annotations

import pytest

from connectors.templating import (
    MAX_OUTPUT_CHARS,
    TemplateError,
    compile_template,
    is_template,
    render_template,
)


def render(text: str, context: dict | None = None, *, strict: bool = False) -> str:
    return compile_template(text, strict=strict).render(context or {})


def test_it_renders_placeholders_from_the_context():
    assert (
        render(
            "{{ first_name }} {{ customer.city }}",
            {"first_name": "Ann", "customer": {"city": "Oslo"}},
        )
        == "Ann Oslo"
    )


def test_it_renders_undefined_as_nothing_by_default():
    assert render("[{{ missing }}|{{ missing.deeper }}]") == "[|]"


def test_it_makes_undefined_an_error_in_strict_mode():
    with pytest.raises(TemplateError) as error:
        render("/campaigns/{{ campaign_id }}/send", {}, strict=True)
    assert str(error.value) == "'campaign_id' is undefined"


def test_it_prints_null_as_nothing_and_booleans_and_objects_as_json():
    context = {"none": None, "yes": True, "data": {"a": [1, "é"]}}
    assert render("{{ none }}|{{ yes }}|{{ data }}", context) == '|true|{"a":[1,"é"]}'


def test_it_does_not_escape_html():
    assert render("{{ x }}", {"x": "<b>&</b>"}) == "<b>&</b>"


def test_it_reports_syntax_errors_with_the_line():
    with pytest.raises(TemplateError) as error:
        compile_template("ok\n{{ a }")
    assert str(error.value) == "line 2: unexpected '}'"


def test_it_lists_the_top_level_variables_used():
    template = compile_template(
        "{{ a }}{% for x in items %}{{ x.name }}{{ b|default(c) }}{% endfor %}"
    )
    assert template.variables == {"a", "items", "b", "c"}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__globals__ }}",
        "{{ x['__class__'] }}",
        "{{ range.__init__ }}",
        "{{ cycler.__init__ }}",
        "{{ x.__dict__ }}",
    ],
)
def test_it_refuses_access_to_python_internals(text):
    with pytest.raises(TemplateError, match="not allowed"):
        render(text, {"x": 1})


def test_it_still_reads_record_keys_that_start_with_an_underscore():
    assert render("{{ doc._id }}-{{ _rev }}", {"doc": {"_id": "a1"}, "_rev": 2}) == "a1-2"


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'a' * 10**9 }}",
        "{{ ['a' * 1000] * 1000 }}",
        "{{ 2 ** 10000000 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ ('a' * 1000)|replace('a', 'a' * 1000) }}",
        "{{ ('a' * 100000).replace('', 'bb') }}",
        "{{ range(100000)|join('x' * 100) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(1000) %}{{ 'a' * 1000 }}{% endfor %}",
        "{{ range(10**9)|length }}",
        "{% set x = 'a' * 50000 %}" + "{% set x = x ~ x %}" * 40 + "{{ x|length }}",
        "{% set x = 'a' * 50000 %}" + "{% set x = [x, x, x, x] %}" * 40 + "{{ x }}",
        "{% set x = 'a' * 50000 %}" + "{% set x = [x, x, x, x] %}" * 40 + "{{ x|tojson }}",
        "{% set x = 'a' * 50000 %}" + "{% set x = [x, x, x, x] %}" * 40 + "{{ '%s' % x }}",
        "{% set x = [1] * 1000 %}" + "{% set x = [x, x, x, x]|sum(start=[]) %}" * 40,
    ],
)
def test_it_refuses_templates_that_would_build_huge_values_or_loop_forever(text):
    with pytest.raises(TemplateError):
        render(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'a'.ljust(10**9) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ (1).to_bytes(10**9, 'big') }}",
        "{{ items.append(1) }}",
        "{{ lipsum(10**6) }}",
        "{{ namespace(a=1) }}",
    ],
)
def test_it_offers_no_padding_formatting_or_mutating_methods(text):
    with pytest.raises(TemplateError):
        render(text, {"items": []}, strict=True)


@pytest.mark.parametrize(
    "text",
    [
        "{% set x %}{{ y }}{% endset %}",
        "{% filter upper %}{{ y }}{% endfilter %}",
        "{% macro m() %}{% endmacro %}",
        "{% include 'x' %}",
        "{% for x in y recursive %}{% endfor %}",
    ],
)
def test_it_refuses_macros_includes_and_recursive_loops(text):
    with pytest.raises(TemplateError, match="not supported"):
        compile_template(text)


def test_it_allows_output_up_to_the_limit():
    assert len(render("{{ 'a' * n }}", {"n": MAX_OUTPUT_CHARS})) == MAX_OUTPUT_CHARS


@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        ("{{ data|tojson }}", {"data": {"a": 1, "b": [True, None]}}, '{"a":1,"b":[true,null]}'),
        ("{{ s|urlencode }}", {"s": "a/b c&d"}, "a%2Fb%20c%26d"),
        ("{{ q|urlencode }}", {"q": {"page": 2, "q": "a b"}}, "page=2&q=a+b"),
        ("{{ s|default('n/a') }}", {"s": ""}, "n/a"),
        ("{{ s|default('n/a') }}", {"s": None}, "n/a"),
        ("{{ s|default('n/a') }}", {}, "n/a"),
        ("{{ s|lower }}-{{ s|upper }}", {"s": "Ab"}, "ab-AB"),
        ("[{{ s|trim }}]", {"s": "  x "}, "[x]"),
        ("{{ s|replace('-', '') }}", {"s": "555-1234"}, "5551234"),
        ("{{ s|truncate(9) }}", {"s": "a long sentence here"}, "a long..."),
        ("{{ d|date('%d/%m/%Y') }}", {"d": "2024-05-01T10:00:00Z"}, "01/05/2024"),
        ("{{ tags|join(', ') }}", {"tags": ["a", "b"]}, "a, b"),
        ("{{ 'id-' ~ none ~ '-' ~ yes }}", {"none": None, "yes": True}, "id--true"),
        ("{{ amounts|sum }}", {"amounts": [1, 2.5]}, "3.5"),
        ("{% for t in tags %}{{ loop.index }}{{ t }}{% endfor %}", {"tags": ["a", "b"]}, "1a2b"),
        (
            "{{ first_name|title }} {{ last_name[:1] }}.",
            {"first_name": "ann", "last_name": "Lee"},
            "Ann L.",
        ),
    ],
)
def test_it_offers_the_filters_a_no_code_user_expects(text, context, expected):
    assert render(text, context) == expected


def test_it_reports_a_value_the_date_filter_cannot_read():
    with pytest.raises(TemplateError, match="'soon' is not a date"):
        render("{{ d|date }}", {"d": "soon"})


def test_it_tells_templates_from_constant_strings():
    assert is_template("Hello {{ name }}")
    assert is_template("{% if x %}y{% endif %}")
    assert not is_template("https://api.example.com/v1/send")
    assert render_template("no placeholders {", {}) == "no placeholders {"
    assert render_template("{{ a }}", {"a": 1}) == "1"
