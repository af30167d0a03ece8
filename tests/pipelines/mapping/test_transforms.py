from __future__ import annotations

import pytest

from pipelines.mapping.transforms import (
    TRANSFORM_NAMES,
    TransformError,
    compile_transforms,
    validate_transform,
)


@pytest.mark.parametrize(
    ("specs", "value", "expected"),
    [
        (["trim"], "  Ann  ", "Ann"),
        (["lower"], "ANN@X.COM", "ann@x.com"),
        (["upper"], "ab", "AB"),
        (["title"], "ann lee", "Ann Lee"),
        (["digits_only"], "+1 (555) 123-4567", "15551234567"),
        (["digits_only"], 5551234, "5551234"),
        (["to_integer"], " 42 ", 42),
        (["to_number"], "3.5", 3.5),
        (["to_boolean"], "Yes", True),
        (["to_date:%d/%m/%Y"], "31/12/2024", "2024-12-31"),
        (["to_datetime:%d/%m/%Y %H:%M"], "31/12/2024 23:59", "2024-12-31T23:59:00"),
        (["to_datetime:%Y-%m-%d %H:%M %z"], "2024-12-31 23:59 +0200", "2024-12-31T23:59:00+02:00"),
        (["default:unknown"], "", "unknown"),
        (["default:unknown"], None, "unknown"),
        (["default:unknown"], "set", "set"),
        (["replace:-:"], "555-12-34", "5551234"),
        (["replace:a:b:c"], "banana", "bb:cnb:cnb:c"),
        (["split:,"], "a,b,c", ["a", "b", "c"]),
        (["join:, "], ["a", 1, None, True], "a, 1, , true"),
        (["truncate:3"], "abcdef", "abc"),
        (["split:;", "join:|"], "a;b", "a|b"),
        (["trim", "lower"], "  Bob@Example.COM ", "bob@example.com"),
        ([], {"kept": "as is"}, {"kept": "as is"}),
    ],
)
def test_it_transforms_values(specs, value, expected):
    assert compile_transforms(specs)(value) == expected


@pytest.mark.parametrize("spec", [s for s in TRANSFORM_NAMES if s != "default"])
def test_it_passes_none_through_every_transform_but_default(spec):
    full = {
        "to_date": "to_date:%Y",
        "to_datetime": "to_datetime:%Y",
        "replace": "replace:a:b",
        "split": "split:,",
        "join": "join:,",
        "truncate": "truncate:2",
    }.get(spec, spec)
    assert compile_transforms([full])(None) is None


def test_it_leaves_numbers_alone_for_text_transforms():
    assert compile_transforms(["trim", "lower"])(42) == 42


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        ("to_integer", "abc", "'abc' is not a whole number"),
        ("to_number", "1,5", "'1,5' is not a number"),
        ("to_boolean", "perhaps", "'perhaps' is not yes or no"),
        ("to_date:%d/%m/%Y", "2024-12-31", "'2024-12-31' does not match the date format %d/%m/%Y"),
        ("to_date:%d/%m/%Y", 20241231, "20241231 does not match the date format"),
        ("trim", ["a"], "'trim' needs text, not a list"),
        ("split:,", 5, "'split' needs text, not 5"),
        ("join:,", [{"a": 1}], "one item is an object"),
    ],
)
def test_it_raises_a_readable_error_for_a_value_it_cannot_transform(spec, value, message):
    with pytest.raises(TransformError, match=message):
        compile_transforms([spec])(value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("shout", "unknown transform 'shout'; use one of: trim, lower, upper"),
        ("trim:3", "transform 'trim' takes no argument"),
        ("truncate", "transform 'truncate' needs an argument after ':', e.g. 'truncate:100'"),
        ("truncate:many", "needs a whole number of characters"),
        ("to_date:dd/mm/yyyy", "needs a format with % codes"),
        ("replace:abc", "replace:<old>:<new>"),
        ("replace::x", "replace:<old>:<new>"),
        ("split:", "needs a separator"),
        (3, "written as text"),
    ],
)
def test_it_refuses_unusable_transform_specs_when_a_pipeline_is_saved(spec, message):
    with pytest.raises(ValueError, match=message):
        validate_transform(spec)
    with pytest.raises(ValueError, match=message):
        compile_transforms(["trim", spec])


def test_it_accepts_every_transform_it_lists():
    for spec in [
        "trim",
        "lower",
        "upper",
        "title",
        "digits_only",
        "to_integer",
        "to_number",
        "to_boolean",
        "to_date:%Y-%m-%d",
        "to_datetime:%Y-%m-%dT%H:%M",
        "default:0",
        "replace:a:",
        "split:,",
        "join:",
        "truncate:10",
    ]:
        validate_transform(spec)
    assert set(TRANSFORM_NAMES) == {
        s.split(":")[0]
        for s in [
            "trim",
            "lower",
            "upper",
            "title",
            "digits_only",
            "to_integer",
            "to_number",
            "to_boolean",
            "to_date",
            "to_datetime",
            "default",
            "replace",
            "split",
            "join",
            "truncate",
        ]
    }
