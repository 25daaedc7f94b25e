{% from "clickhouse/_macros.sql" import mcp_filters, mcp_series_source %}
-- Tool latency p50 / p95 / p99 per tool and interval, in milliseconds: the t-digest states of the minutes
-- (or 5-minute / hourly rollups) merged per bucket; the 1m minimum interval keeps buckets whole minutes.
SELECT
    time,
    tool,
    q[1] / 1e6 AS p50,
    q[2] / 1e6 AS p95,
    q[3] / 1e6 AS p99
FROM
(
    SELECT
        $__timeInterval(Minute) AS time,
        ToolName AS tool,
        quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationQuantiles) AS q
    FROM {{ mcp_series_source() }}
    WHERE $__timeFilter(Minute)
      AND {{ mcp_filters() }}
    GROUP BY time, tool
)
ORDER BY time, tool
