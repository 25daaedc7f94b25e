-- SmarterOS business schema, part 3: Shopify checkouts, orders and order line items, per tenant.
-- Ids are Shopify's (bigint), unique within a tenant's shop.
CREATE TABLE IF NOT EXISTS checkouts (
    tenant_id     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    completed_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
COMMENT ON TABLE checkouts IS 'Shopify checkouts; an abandoned checkout never gets completed_at';
-- "Conversion rate": checkouts created in a range and how many of them completed.
CREATE INDEX IF NOT EXISTS checkouts_created_idx ON checkouts (created_at) INCLUDE (completed_at);
CREATE INDEX IF NOT EXISTS checkouts_tenant_created_idx ON checkouts (tenant_id, created_at) INCLUDE (completed_at);
ALTER TABLE checkouts ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS orders (
    tenant_id         text          NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                bigint        NOT NULL,
    created_at        timestamptz   NOT NULL,
    currency          text          NOT NULL,
    total_price       numeric(14,2) NOT NULL,
    financial_status  text,
    cancelled_at      timestamptz,
    checkout_id       bigint,
    customer_id       bigint,
    PRIMARY KEY (tenant_id, id)
);
COMMENT ON TABLE orders IS 'Shopify orders';
COMMENT ON COLUMN orders.id IS 'Shopify order id';
COMMENT ON COLUMN orders.currency IS 'ISO 4217 code of total_price (a tenant may sell in several currencies)';
COMMENT ON COLUMN orders.financial_status IS 'Shopify financial_status: pending, authorized, paid, partially_paid, refunded, voided, …';
COMMENT ON COLUMN orders.cancelled_at IS 'when the order was cancelled; cancelled orders count in no revenue';
-- "Revenue per day" and "Average order value": orders not cancelled, by creation time, all tenants or one.
CREATE INDEX IF NOT EXISTS orders_revenue_idx ON orders (created_at) INCLUDE (currency, total_price)
    WHERE cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS orders_tenant_revenue_idx ON orders (tenant_id, created_at) INCLUDE (currency, total_price)
    WHERE cancelled_at IS NULL;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS order_line_items (
    tenant_id           text          NOT NULL,
    order_id            bigint        NOT NULL,
    id                  bigint        NOT NULL,
    product_id          bigint,
    title               text          NOT NULL,
    quantity            integer       NOT NULL,
    price               numeric(14,2) NOT NULL,
    order_created_at    timestamptz,
    order_cancelled_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE order_line_items IS 'Shopify order line items';
COMMENT ON COLUMN order_line_items.price IS 'unit price in the order''s currency';
COMMENT ON COLUMN order_line_items.order_created_at IS 'copy of orders.created_at, kept by triggers (Products sold reads line items alone)';
COMMENT ON COLUMN order_line_items.order_cancelled_at IS 'copy of orders.cancelled_at, kept by triggers';
CREATE INDEX IF NOT EXISTS order_line_items_order_idx ON order_line_items (tenant_id, order_id);
-- "Products sold": line items of orders not cancelled, by the order's creation time.
CREATE INDEX IF NOT EXISTS order_line_items_sold_idx ON order_line_items (order_created_at) INCLUDE (title, quantity)
    WHERE order_cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS order_line_items_tenant_sold_idx ON order_line_items (tenant_id, order_created_at)
    INCLUDE (title, quantity) WHERE order_cancelled_at IS NULL;
ALTER TABLE order_line_items ENABLE ROW LEVEL SECURITY;

-- The order's created_at/cancelled_at on each line item: filled on insert, refreshed when the order changes.
-- SECURITY DEFINER so a writer whose RLS rights cover one table still keeps the copy right.
CREATE OR REPLACE FUNCTION order_line_items_copy_order() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    SELECT o.created_at, o.cancelled_at INTO NEW.order_created_at, NEW.order_cancelled_at
    FROM orders AS o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
    RETURN NEW;
END;
$fn$;
REVOKE ALL ON FUNCTION order_line_items_copy_order() FROM PUBLIC;
CREATE OR REPLACE TRIGGER order_line_items_copy_order BEFORE INSERT OR UPDATE ON order_line_items
    FOR EACH ROW EXECUTE FUNCTION order_line_items_copy_order();

CREATE OR REPLACE FUNCTION orders_copy_to_line_items() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    UPDATE order_line_items AS li
    SET order_created_at = n.created_at, order_cancelled_at = n.cancelled_at
    FROM new_rows AS n
    WHERE li.tenant_id = n.tenant_id AND li.order_id = n.id
      AND (li.order_created_at, li.order_cancelled_at) IS DISTINCT FROM (n.created_at, n.cancelled_at);
    RETURN NULL;
END;
$fn$;
REVOKE ALL ON FUNCTION orders_copy_to_line_items() FROM PUBLIC;
CREATE OR REPLACE TRIGGER orders_copy_to_line_items AFTER UPDATE ON orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION orders_copy_to_line_items();
