{% from "clickhouse/_macros.sql" import topic_filters %}
-- Records produced per topic and interval: the sum of the end-offset deltas the collector stores per
-- partition sample (counter resets handled there), pre-aggregated per minute.
SELECT
    $__timeInterval(minute) AS time,
    topic,
    sum(messages) AS records
FROM kafka_topic_throughput_1m
WHERE $__timeFilter(minute)
  AND {{ topic_filters() }}
GROUP BY time, topic
ORDER BY time, topic
