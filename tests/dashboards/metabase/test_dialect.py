"""The Metabase dialect: template tags and optional clauses parsed and substituted as Metabase does."""

from __future__ import annotations

from datetime import date

import pytest

from smarter_obs.dashboards import QuerySyntaxError
from smarter_obs.dashboards.metabase import date_range, text_filter
from smarter_obs.dashboards.model import ALL, Variable
from smarter_obs.dashboards.sql import ExpandContext, get_dialect
from smarter_obs.dashboards.timerange import TimeRange, calculate_interval, resolution_for

START, END = date_range()
VARIABLES = {v.name: v for v in (START, END, text_filter("tenant", "Tenant"))}
RANGE = TimeRange.parse("2025-03-01", "2025-03-31")


def expand(sql: str, values: dict | None = None, *, explicit_range: bool = False, variables=VARIABLES):
    context = ExpandContext(
        time_range=RANGE,
        interval=calculate_interval(RANGE, resolution_for(None, None)),
        variables=variables,
        values={k: (v,) if isinstance(v, str) else tuple(v) for k, v in (values or {}).items()},
        explicit_range=explicit_range,
    )
    return get_dialect("metabase").expand(sql, context)


def test_values_are_literals_in_the_text_and_bound_in_the_statement() -> None:
    sql = "SELECT 1 FROM t WHERE name LIKE 'a%' AND tenant_id = {{tenant}} AND d >= {{ start_date }}"
    expansion = expand(sql, {"tenant": "O'Brien", "start_date": "2025-03-01"})
    assert expansion.text == (
        "SELECT 1 FROM t WHERE name LIKE 'a%' AND tenant_id = 'O''Brien' AND d >= DATE '2025-03-01'"
    )
    assert expansion.statement() == (
        "SELECT 1 FROM t WHERE name LIKE 'a%%' AND tenant_id = %s AND d >= %s",
        ("O'Brien", date(2025, 3, 1)),
    )


def test_optional_clause_kept_only_when_every_tag_in_it_has_a_value() -> None:
    sql = "SELECT 1 WHERE true [[AND a = {{tenant}} AND b >= {{start_date}}]] [[AND c = {{tenant}}]]"
    assert expand(sql, {"tenant": "x"}).text == "SELECT 1 WHERE true  AND c = 'x'"
    assert expand(sql, {"tenant": ALL}).text == "SELECT 1 WHERE true  "  # All = no value
    assert expand(sql, {"tenant": ""}).text == "SELECT 1 WHERE true  "


def test_nested_clauses_drop_independently_as_in_metabase() -> None:
    sql = "x [[a {{tenant}} [[b {{start_date}}]] c]] y"
    assert expand(sql, {"tenant": "t"}).text == "x a 't'  c y"
    assert expand(sql, {"tenant": "t", "start_date": "2025-01-02"}).text == "x a 't' b DATE '2025-01-02' c y"
    assert expand(sql, {"start_date": "2025-01-02"}).text == "x  y"


def test_comments_hide_tags_outside_optional_clauses_but_strings_do_not() -> None:
    sql = "SELECT 1 -- {{nothing}} [[ here\n/* {{nor}} */ , '{{tenant}}'"
    assert expand(sql, {"tenant": "t"}).text == "SELECT 1 -- {{nothing}} [[ here\n/* {{nor}} */ , ''t''"


def test_date_range_tags_take_the_days_of_an_explicit_range_only() -> None:
    sql = "SELECT 1 WHERE true [[AND d >= {{start_date}}]] [[AND d <= {{end_date}}]]"
    assert expand(sql).text == "SELECT 1 WHERE true  "
    assert expand(sql, explicit_range=True).text == (
        "SELECT 1 WHERE true AND d >= DATE '2025-03-01' AND d <= DATE '2025-03-31'"
    )
    given = expand(sql, {"end_date": "2025-03-05"}, explicit_range=True).text
    assert given.endswith("AND d <= DATE '2025-03-05'")  # a value given wins over the range


@pytest.mark.parametrize(
    ("sql", "values", "message"),
    [
        ("SELECT {{tenant}}", {}, "missing required parameters: tenant"),
        ("SELECT 1 [[AND x]]", {}, "'[[...]]' clauses must contain at least one '{{...}}' clause"),
        ("SELECT 1 [[AND {{tenant}}", {"tenant": "a"}, "found '[[' with no matching ']]'"),
        ("SELECT {{tenant", {"tenant": "a"}, "found '{{' with no matching '}}'"),
        ("SELECT {{  }}", {}, "'{{...}}' clauses cannot be empty"),
        (
            "SELECT {{tenat}}",
            {},
            "unknown template tag {{tenat}}: the dashboard has no parameter 'tenat' (did you",
        ),
        ("SELECT {{snippet: x}}", {}, "supports Metabase variables only"),
        (
            "SELECT {{start_date}}",
            {"start_date": "March"},
            "{{start_date}} is a date: 'March' is not YYYY-MM-DD",
        ),
        ("SELECT {{tenant}}", {"tenant": ["a", "b"]}, "{{tenant}} takes one value, got 2"),
    ],
)
def test_errors_say_what_and_where(sql: str, values: dict, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        expand(sql, values)
    assert message in str(caught.value)
    assert caught.value.offset is not None and 0 <= caught.value.offset < len(sql)


def test_number_and_multi_value_tags() -> None:
    from smarter_obs.dashboards.metabase import MetabaseParameter

    variables = {
        "n": Variable(name="n", kind="metabase", extra=MetabaseParameter(tag_type="number")),
        "ids": Variable(name="ids", kind="metabase", multi=True, extra=MetabaseParameter(tag_type="text")),
    }
    expansion = expand(
        "SELECT {{n}} WHERE id IN ({{ids}})", {"n": "42", "ids": ["a", "b"]}, variables=variables
    )
    assert expansion.text == "SELECT 42 WHERE id IN ('a', 'b')"
    assert expansion.statement() == ("SELECT %s WHERE id IN (%s, %s)", (42, "a", "b"))
    with pytest.raises(QuerySyntaxError, match="is a number"):
        expand("SELECT {{n}}", {"n": "1; DROP TABLE x"}, variables=variables)
