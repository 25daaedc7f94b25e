-- Consumer groups of the selected clusters (variable "consumer_group").
SELECT DISTINCT consumer_group
FROM kafka_consumer_groups
WHERE $__timeFilter(ts)
  AND $__conditionalAll(cluster IN (${cluster:singlequote}), $cluster)
ORDER BY consumer_group
