{% from "clickhouse/_macros.sql" import topic_filters %}
-- Producer throughput: records per second per topic, averaged over each interval.
SELECT
    $__timeInterval(minute) AS time,
    topic,
    sum(messages) / $__interval_s AS records_per_second
FROM kafka_topic_throughput_1m
WHERE $__timeFilter(minute)
  AND {{ topic_filters() }}
GROUP BY time, topic
ORDER BY time, topic
