{% from "clickhouse/_macros.sql" import topic_filters, group_filter %}
-- Consumer lag in records per group and topic: each collection cycle's lag summed over the topic's
-- partitions with a commit, the highest cycle per interval. kafka_consumer_lag_topics holds one row per
-- cycle, group and topic once merged; FINAL merges what is not yet. Groups that never committed on a
-- topic have no lag there and are left out.
SELECT
    $__timeInterval(ts) AS time,
    consumer_group,
    topic,
    max(lag) AS records
FROM kafka_consumer_lag_topics FINAL
WHERE $__timeFilter(ts)
  AND partitions_with_commit > 0
  AND {{ topic_filters() }}
  AND {{ group_filter() }}
GROUP BY time, consumer_group, topic
ORDER BY time, consumer_group, topic
