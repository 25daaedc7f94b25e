{% from "clickhouse/_macros.sql" import topic_filters, group_filter %}
-- Consumer lag in seconds per group and topic: how long ago the log head was where the group's furthest
-- behind partition is (the collector's interpolation), the highest value per interval.
SELECT
    $__timeInterval(ts) AS time,
    consumer_group,
    topic,
    max(max_lag_seconds) AS seconds
FROM kafka_consumer_lag_topics
WHERE $__timeFilter(ts)
  AND {{ topic_filters() }}
  AND {{ group_filter() }}
GROUP BY time, consumer_group, topic
HAVING seconds IS NOT NULL
ORDER BY time, consumer_group, topic
