-- Topics of the selected clusters and topic family (variable "topic").
SELECT DISTINCT topic
FROM kafka_partition_offsets
WHERE $__timeFilter(ts)
  AND $__conditionalAll(cluster IN (${cluster:singlequote}), $cluster)
  AND $__conditionalAll(startsWith(topic, '${family}.'), $family)
ORDER BY topic
