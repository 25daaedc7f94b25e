{#- The latest sample in the range of every partition of the selected topics. -#}
{% from "clickhouse/_macros.sql" import topic_filters %}
{% macro latest_partitions() -%}
SELECT
    cluster,
    topic,
    `partition`,
    argMax(leader, ts) AS leader
FROM kafka_partition_offsets
WHERE $__timeFilter(ts)
  AND {{ topic_filters() }}
GROUP BY cluster, topic, `partition`
{%- endmacro %}
