"""A template's render is bounded in time: per render (TEMPLATE_RENDER_BUDGET_MS) and per batch."""

from __future__ import annotations

import time

import pytest

from connectors.templating import (
    MAX_RANGE,
    RenderBudget,
    TemplateError,
    TemplateTimeout,
    batch_budget,
    compile_template,
    render_template,
)

# Unbounded, these templates would run for minutes or hours; a bounded one stops within its
# budget plus one operation. Loose, because test machines are shared and sometimes slow.
SECONDS = 5
# About 90,000 loop turns: inside the loop allowance, and far slower than 20 ms.
SLOW = "{% for i in range(10000) %}{% for j in range(9) %}{% endfor %}{% endfor %}"


def timed(text: str, context: dict | None = None, budget: RenderBudget | None = None):
    template = compile_template(text)
    started = time.monotonic()
    with pytest.raises(TemplateError) as error:
        template.render(context or {}, budget)
    return str(error.value), time.monotonic() - started, error.value


def test_the_default_budget_is_200_ms(settings):
    assert settings.TEMPLATE_RENDER_BUDGET_MS == 200


def test_it_stops_a_render_that_takes_longer_than_the_budget(settings):
    settings.TEMPLATE_RENDER_BUDGET_MS = 20
    message, elapsed, error = timed(SLOW)
    assert message == "the template took longer than 20 ms"
    assert isinstance(error, TemplateTimeout)
    assert elapsed < SECONDS


def test_it_stops_the_reviewed_template_in_well_under_a_second():
    text = "{% for i in range(100000) %}{{ range(100000)|sort|length }}{% endfor %}"
    message, elapsed, _ = timed(text)
    assert message == f"range() gives at most {MAX_RANGE} numbers"
    assert elapsed < SECONDS


def test_it_stops_a_loop_of_sorts_by_time_or_items():
    message, elapsed, _ = timed(
        "{% for i in range(10000) %}{{ range(10000)|sort|length }}{% endfor %}"
    )
    assert message in (
        "the template took longer than 200 ms",
        "the template's filters go through more than 100000 items",
    )
    assert elapsed < SECONDS


@pytest.mark.parametrize(
    "text",
    [
        "{{ items|sort|length }}",
        "{{ items|unique|list|length }}",
        "{{ items|map('abs')|list|length }}",
        "{{ items|reject('none')|select('number')|list|length }}",
        "{{ items|join(',')|length }}",
    ],
)
def test_it_refuses_filters_over_a_huge_list_before_walking_it(text):
    message, elapsed, _ = timed(text, {"items": list(range(200_000))})
    assert message == "the template's filters go through more than 100000 items"
    assert elapsed < SECONDS


def test_it_still_sorts_a_list_of_a_reasonable_size():
    template = compile_template("{{ items|sort|first }}-{{ items|map('abs')|max }}")
    assert template.render({"items": [3, -7, 2]}) == "-7-7"


def test_a_batch_budget_bounds_many_renders(settings):
    settings.TEMPLATE_RENDER_BUDGET_MS = 10_000
    budget = RenderBudget(ms=50)
    template = compile_template(SLOW)
    with pytest.raises(TemplateTimeout) as error:
        for _ in range(100):
            template.render({}, budget)
    assert str(error.value) == "the templates of this batch took longer than 50 ms in all"
    assert budget.spent < SECONDS


def test_a_spent_batch_budget_refuses_the_next_render_at_once():
    budget = RenderBudget(ms=50)
    budget.spent = 0.05
    with pytest.raises(TemplateTimeout, match="this batch took longer than 50 ms"):
        compile_template("{{ a }}").render({"a": 1}, budget)


def test_only_the_time_spent_rendering_counts_against_a_batch_budget():
    budget = RenderBudget(ms=50)
    template = compile_template("{{ a|upper }}")
    for _ in range(3):
        time.sleep(0.03)  # work between renders (the database, the network) is not template time
        assert template.render({"a": "x"}, budget) == "X"
    assert budget.spent < 0.05


def test_a_batch_budget_can_be_set_around_renders_that_do_not_pass_it(settings):
    settings.TEMPLATE_RENDER_BUDGET_MS = 10_000
    with (
        batch_budget(50) as budget,
        pytest.raises(TemplateTimeout, match="this batch took longer than 50 ms"),
    ):
        for _ in range(100):
            render_template(SLOW, {})
    assert budget.spent < SECONDS
    assert render_template("{{ a }}", {"a": 1}) == "1"  # outside the block: no batch budget
