{% import "postgres/_metabase.sql" as mb -%}
-- Average order value: the revenue of the orders not cancelled in the range / their number, per currency.
SELECT
    currency,
    count(*) AS orders,
    sum(total_price) AS revenue,
    round(sum(total_price) / count(*), 2) AS average_order_value
FROM orders
WHERE cancelled_at IS NULL
  {{ mb.utc_days("created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
GROUP BY currency
ORDER BY revenue DESC, currency
