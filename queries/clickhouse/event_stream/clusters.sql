-- Clusters the lag collector sampled in the range (variable "cluster").
SELECT DISTINCT cluster
FROM kafka_partition_offsets
WHERE $__timeFilter(ts)
ORDER BY cluster
