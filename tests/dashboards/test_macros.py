"""Macro and variable expansion, exactly as Grafana's ClickHouse plugin and PostgreSQL datasource do it."""

from __future__ import annotations

import pytest

from smarter_obs.dashboards import Choice, QuerySyntaxError, Variable
from smarter_obs.dashboards.model import ALL
from smarter_obs.dashboards.sql import ExpandContext, get_dialect
from smarter_obs.dashboards.timerange import Interval, TimeRange

# 2025-01-06T00:00:00Z .. 2025-01-07T00:00:00.5Z
RANGE = TimeRange.parse("2025-01-06T00:00:00Z", "2025-01-07T00:00:00.500Z")
FROM, TO = 1736121600, 1736208000
TIMES = f"(t >= toDateTime({FROM}) AND t <= toDateTime({TO}))"

VARIABLES = {
    "one": Variable(name="one", kind="custom", choices=[Choice("a"), Choice("b")]),
    "many": Variable(name="many", kind="custom", multi=True, include_all=True, choices=["a", "b", "c"]),
    "fixed": Variable(name="fixed", kind="custom", include_all=True, all_value=".*", choices=["x", "y"]),
    "labelled": Variable(
        name="labelled", kind="custom", multi=True, choices=[Choice("1", "One"), Choice("2", "Two")]
    ),
}


def context(values=None, *, strict=False, interval_ms=120_000):
    values = {"one": ("a",), "many": ("a", "b"), "fixed": ("x",), "labelled": ("1", "2"), **(values or {})}
    return ExpandContext(
        time_range=RANGE,
        interval=Interval(interval_ms),
        variables=VARIABLES,
        values=values,
        options={name: v.choices for name, v in VARIABLES.items()},
        strict=strict,
    )


def clickhouse(sql, values=None, **kwargs):
    return get_dialect("clickhouse").expand(sql, context(values, **kwargs)).text


def postgres(sql, values=None, **kwargs):
    return get_dialect("grafana_postgres").expand(sql, context(values, **kwargs)).text


@pytest.mark.parametrize(
    ("macro", "expansion"),
    [
        ("$__timeFilter(ts)", f"ts >= toDateTime({FROM}) AND ts <= toDateTime({TO})"),
        (
            "$__timeFilter_ms(ts)",
            f"ts >= fromUnixTimestamp64Milli({FROM}000) AND ts <= fromUnixTimestamp64Milli({TO}500)",
        ),
        ("$__dateFilter(d)", "d >= toDate('2025-01-06') AND d <= toDate('2025-01-07')"),
        (
            "$__dateTimeFilter(d, t)",
            f"(d >= toDate('2025-01-06') AND d <= toDate('2025-01-07')) AND {TIMES}",
        ),
        (
            "$__dt(d,t)",
            f"(d >= toDate('2025-01-06') AND d <= toDate('2025-01-07')) AND {TIMES}",
        ),
        ("$__fromTime", f"toDateTime({FROM})"),
        ("$__toTime", f"toDateTime({TO})"),
        ("$__fromTime()", f"toDateTime({FROM})"),
        ("$__fromTime_ms", f"fromUnixTimestamp64Milli({FROM}000)"),
        ("$__toTime_ms", f"fromUnixTimestamp64Milli({TO}500)"),
        ("$__timeFrom(ts)", f"ts >= toDateTime({FROM})"),
        ("$__timeTo(ts)", f"ts <= toDateTime({TO})"),
        ("$__timeInterval(ts)", "toStartOfInterval(toDateTime(ts), INTERVAL 120 second)"),
        ("$__timeInterval_ms(ts)", "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 120000 millisecond)"),
        ("$__timeGroup(ts, 5m)", "toStartOfInterval(toDateTime(ts), INTERVAL 300 second)"),
        ("$__interval_s", "120"),
        (
            "$__timeFilter(toStartOfMinute(ts))",
            f"toStartOfMinute(ts) >= toDateTime({FROM}) AND toStartOfMinute(ts) <= toDateTime({TO})",
        ),
    ],
)
def test_clickhouse_macros(macro, expansion):
    assert clickhouse(f"SELECT 1 WHERE {macro}") == f"SELECT 1 WHERE {expansion}"


def test_clickhouse_interval_is_at_least_one_second():
    assert clickhouse("$__interval_s $__timeInterval(t)", interval_ms=200) == (
        "1 toStartOfInterval(toDateTime(t), INTERVAL 1 second)"
    )


def test_clickhouse_protects_strings_comments_and_backticks():
    sql = "SELECT '$__timeFilter(x)', `$__fromTime` -- $__toTime\n/* $__interval_s */ FROM t "
    sql += "WHERE $__timeFilter(ts)"
    assert clickhouse(sql) == (
        "SELECT '$__timeFilter(x)', `$__fromTime` -- $__toTime\n/* $__interval_s */ FROM t WHERE "
        f"ts >= toDateTime({FROM}) AND ts <= toDateTime({TO})"
    )


def test_clickhouse_unknown_macro_is_left_or_an_error_in_validation():
    assert clickhouse("SELECT $__nope(x)") == "SELECT $__nope(x)"
    with pytest.raises(
        QuerySyntaxError, match=r"unknown macro \$__timeFiltr \(did you mean 'timeFilter'\?\)"
    ) as info:
        clickhouse("SELECT 1 WHERE $__timeFiltr(ts)", strict=True)
    assert info.value.offset == len("SELECT 1 WHERE ")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("$__timeFilter()", r"macro \$__timeFilter expects 1 argument, received 0"),
        ("$__timeFilter", r"macro \$__timeFilter needs 1 argument in parentheses"),
        ("$__timeFilter(a, b)", r"expects 1 argument, received 2"),
        ("$__dateTimeFilter(d, )", r"expects 2 arguments, received 2 \(an argument is empty\)"),
        ("$__timeGroup(ts, 5x)", r"invalid interval"),
        ("$__timeFilter(ts", r"unclosed"),
    ],
)
def test_clickhouse_bad_macro_calls(sql, message):
    with pytest.raises(QuerySyntaxError, match=message):
        clickhouse(f"SELECT 1 WHERE {sql}")


@pytest.mark.parametrize(
    ("values", "expansion"),
    [
        ({"many": (ALL,)}, "1=1"),
        ({"many": ()}, "1=1"),
        ({"many": ("a",)}, "x IN ('a')"),
        ({"many": ("a", "b")}, "x IN ('a','b')"),
    ],
)
def test_conditional_all(values, expansion):
    assert (
        clickhouse("WHERE $__conditionalAll(x IN (${many:singlequote}), $many)", values)
        == f"WHERE {expansion}"
    )


def test_conditional_all_with_nested_parentheses_several_times_and_braces():
    sql = "WHERE $__conditionalAll(f(x, g(y)) IN (${many}), ${many}) AND $__conditionalAll(z = '$one', $one)"
    assert clickhouse(sql, {"many": (ALL,)}) == "WHERE 1=1 AND z = 'a'"
    assert clickhouse(sql) == "WHERE f(x, g(y)) IN ('a','b') AND z = 'a'"


def test_conditional_all_needs_a_plain_variable():
    with pytest.raises(QuerySyntaxError, match="second argument must be a plain"):
        clickhouse("WHERE $__conditionalAll(x, 'all')", strict=True)
    with pytest.raises(QuerySyntaxError, match="needs exactly 2 arguments"):
        clickhouse("WHERE $__conditionalAll(x)", strict=True)
    with pytest.raises(QuerySyntaxError, match=r"unknown variable \$mnay \(did you mean 'many'\?\)"):
        clickhouse("WHERE $__conditionalAll(x, $mnay)", strict=True)


@pytest.mark.parametrize(
    ("template", "values", "clickhouse_text", "postgres_text"),
    [
        ("$one", {}, "a", "a"),
        ("${one}", {"one": ("it's",)}, "it's", "it''s"),
        ("$many", {}, "'a','b'", "'a','b'"),
        ("$many", {"many": ("o'k",)}, "'o'k'", "'o''k'"),  # the ClickHouse plugin does not escape
        ("${many:singlequote}", {"many": ("o'k",)}, "'o\\'k'", "'o\\'k'"),
        ("${one:singlequote}", {}, "'a'", "'a'"),
        ("${many:sqlstring}", {"many": ("o'k", "b")}, "'o''k','b'", "'o''k','b'"),
        ("${many:csv}", {}, "a,b", "a,b"),
        ("${many:doublequote}", {}, '"a","b"', '"a","b"'),
        ("${many:json}", {}, '["a","b"]', '["a","b"]'),
        ("${many:pipe}", {}, "a|b", "a|b"),
        ("${many:regex}", {"many": ("a.b", "c")}, "(a\\.b|c)", "(a\\.b|c)"),
        ("${many:glob}", {}, "{a,b}", "{a,b}"),
        ("${many:whatever}", {}, "{a,b}", "{a,b}"),  # unknown format: glob, as in Grafana
        ("${labelled:text}", {}, "One + Two", "One + Two"),
        ("${many:queryparam}", {}, "var-many=a&var-many=b", "var-many=a&var-many=b"),
        ("[[one]]", {}, "a", "a"),
        ("$many", {"many": (ALL,)}, "'a','b','c'", "'a','b','c'"),
        ("${many:csv}", {"many": (ALL,)}, "a,b,c", "a,b,c"),
        ("$fixed", {"fixed": (ALL,)}, ".*", ".*"),  # a custom all value goes in as written
        ("${fixed:singlequote}", {"fixed": (ALL,)}, ".*", ".*"),
        ("$fixed", {}, "x", "'x'"),  # PostgreSQL quotes values of include-All variables
        ("${__from}-${__to}", {}, f"{FROM}000-{TO}500", f"{FROM}000-{TO}500"),
        ("${__from:date:seconds}", {}, str(FROM), str(FROM)),
        ("${__to:date:iso}", {}, "2025-01-07T00:00:00.500Z", "2025-01-07T00:00:00.500Z"),
        ("$__interval $__interval_ms", {}, "2m 120000", "2m 120000"),
        ("$__range_s $__range", {}, "86400 86400s", "86400 86400s"),
        ("$unknown", {}, "$unknown", "$unknown"),  # not a variable: left as written, as Grafana does
    ],
)
def test_variables(template, values, clickhouse_text, postgres_text):
    assert clickhouse(template, values) == clickhouse_text
    assert postgres(template, values) == postgres_text


def test_unknown_variables_are_errors_in_validation_except_literal_text():
    with pytest.raises(QuerySyntaxError, match=r"unknown variable \$servce"):
        clickhouse("WHERE s IN (${servce:singlequote})", strict=True)
    with pytest.raises(QuerySyntaxError, match=r"unknown variable \$famly"):
        clickhouse("WHERE startsWith(topic, '${famly}.')", strict=True)  # braced inside a string: meant
    assert clickhouse("SELECT 'costs $5' -- $x\n", strict=True) == "SELECT 'costs $5' -- $x\n"


@pytest.mark.parametrize(
    ("macro", "expansion"),
    [
        ("$__timeFilter(c)", "c BETWEEN '2025-01-06T00:00:00Z' AND '2025-01-07T00:00:00.5Z'"),
        ("$__timeFrom()", "'2025-01-06T00:00:00Z'"),
        ("$__timeTo()", "'2025-01-07T00:00:00.5Z'"),
        ("$__time(c)", 'c AS "time"'),
        ("$__timeEpoch(c)", 'extract(epoch from c) as "time"'),
        ("$__timeGroup(c, '5m')", "floor(extract(epoch from c)/300)*300"),
        ("$__timeGroup(c,'1h', 0)", "floor(extract(epoch from c)/3600)*3600"),
        ("$__timeGroupAlias(c, $__interval)", 'floor(extract(epoch from c)/120)*120 AS "time"'),
        ("$__timeGroupAlias(c, 500ms)", 'floor(extract(epoch from c)/0.5)*0.5 AS "time"'),
        ("$__unixEpochFilter(c)", f"c >= {FROM} AND c <= {TO}"),
        ("$__unixEpochNanoFilter(c)", f"c >= {FROM}000000000 AND c <= {TO}500000000"),
        ("$__unixEpochNanoFrom()", f"{FROM}000000000"),
        ("$__unixEpochGroup(c, '1m')", "floor((c)/60)*60"),
        ("$__unixEpochGroupAlias(c, '1d')", 'floor((c)/86400)*86400 AS "time"'),
        ("$__unixEpochFrom() $__unixEpochTo()", f"{FROM} {TO}"),
        ("$__interval_ms", "120000"),
    ],
)
def test_postgres_macros(macro, expansion):
    assert postgres(f"SELECT {macro}") == f"SELECT {expansion}"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("$__timeFilter()", "missing time column argument for macro __timeFilter"),
        ("$__timeGroup(c)", "macro __timeGroup needs time column and interval"),
        ("$__timeGroup(c, 'soon')", "error parsing interval 'soon'"),
        ("$__timeGroup(c, '5m', later)", "fill value"),
        ("$__timeFiter(c)", r'unknown macro "__timeFiter" \(did you mean \'__timeFilter\'\?\)'),
        ("$nothing(c)", 'unknown macro "nothing"'),
    ],
)
def test_postgres_macro_errors_as_grafana_reports_them(sql, message):
    with pytest.raises(QuerySyntaxError, match=message):
        postgres(f"SELECT {sql}")


def test_postgres_macros_need_parentheses():
    with pytest.raises(QuerySyntaxError, match=r"macro \$__timeFilter needs parentheses"):
        postgres("SELECT 1 WHERE $__timeFilter", strict=True)


def test_error_offsets_point_into_the_input_across_stages():
    sql = "SELECT ${many:csv}, $__conditionalAll(a, $many)\nWHERE $__timeFilter()"
    with pytest.raises(QuerySyntaxError) as info:
        clickhouse(sql, strict=True)
    assert sql[info.value.offset :].startswith("$__timeFilter()")


def test_referenced_variables():
    dialect = get_dialect("clickhouse")
    assert dialect.referenced_variables(
        "x = $one AND [[fixed]] AND ${many:csv} $__interval_s $other", VARIABLES
    ) == {
        "one",
        "fixed",
        "many",
    }
