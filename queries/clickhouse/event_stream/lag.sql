{% from "clickhouse/_macros.sql" import topic_filters, group_filter %}
-- Consumer lag in records per group and topic: each collection cycle's lag summed over the topic's
-- partitions with a commit (kafka_consumer_lag_topics), the highest cycle per interval. Groups that never
-- committed on a topic have no lag there and are left out.
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
        sum(lag) AS cycle_lag,
        sum(partitions_with_commit) AS committed
    FROM kafka_consumer_lag_topics
    WHERE $__timeFilter(ts)
      AND {{ topic_filters() }}
      AND {{ group_filter() }}
    GROUP BY time, ts, consumer_group, topic
    HAVING committed > 0
)
GROUP BY time, consumer_group, topic
ORDER BY time, consumer_group, topic
