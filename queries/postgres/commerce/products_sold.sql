{% import "postgres/_metabase.sql" as mb -%}
-- Products sold: quantity per product title over the orders not cancelled created in the range
-- (each line item carries its order's created_at and cancelled_at, kept by triggers).
SELECT
    title AS product,
    sum(quantity) AS quantity
FROM order_line_items
WHERE order_cancelled_at IS NULL
  {{ mb.utc_days("order_created_at") }}
  {{ mb.tenant_filter("tenant_id") }}
GROUP BY title
ORDER BY quantity DESC, product
