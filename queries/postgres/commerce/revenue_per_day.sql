{% import "postgres/_metabase.sql" as mb -%}
-- Revenue per day: the sum of total_price of the orders not cancelled, per UTC day and currency.
SELECT
    (created_at AT TIME ZONE 'UTC')::date AS day,
    currency,
    sum(total_price) AS revenue
FROM orders
WHERE cancelled_at IS NULL
  {{ mb.utc_days("created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
GROUP BY 1, 2
ORDER BY 1, 2
