{% from "clickhouse/_macros.sql" import topic_filters, group_filter %}
-- Consumer lag in records per group and topic: each collection cycle's lag summed over the topic's
-- partitions (partitions without a commit have no lag and are left out), the highest cycle per interval.
SELECT
    time,
    consumer_group,
    topic,
    max(cycle_lag) AS records
FROM
(
    SELECT
        $__timeInterval(ts) AS time,
        ts,
        consumer_group,
        topic,
        sum(lag) AS cycle_lag
    FROM kafka_consumer_lag
    WHERE $__timeFilter(ts)
      AND has_commit
      AND {{ topic_filters() }}
      AND {{ group_filter() }}
    GROUP BY time, ts, consumer_group, topic
)
GROUP BY time, consumer_group, topic
ORDER BY time, consumer_group, topic
