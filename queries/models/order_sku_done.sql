-- id: order_sku_done
-- description_zh: 訂單各物料何時交付足數（僅計已簽收的發貨）
-- description_en: When each ordered sku reached its ordered quantity, counting delivered shipments only
-- grain: one row per order and ordered sku: ordered_qty, done_at (the delivered_at at
--        which the sku's cumulative delivered quantity reached ordered_qty; NULL while
--        short). Extra or unordered skus are ignored. An order is complete at
--        MAX(done_at) when no sku is still short. Used by K2, R08 and R16 (a dbt-style
--        model: lvyue registers it as a table before running them).
WITH ordered AS (
  SELECT order_id, sku, SUM(quantity) AS qty FROM order_lines GROUP BY order_id, sku
),
delivered_lines AS (
  SELECT s.order_id, l.sku, s.delivered_at, s.shipment_id, l.quantity
  FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.shipment_id
  WHERE s.delivered_at IS NOT NULL
),
-- The running delivered quantity per order and sku (delivery time, then shipment id),
-- as a self-join rather than an ordered SUM window: the same sums, faster on polars.
delivered AS (
  SELECT a.order_id, a.sku, a.delivered_at, a.shipment_id, SUM(b.quantity) AS cum_qty
  FROM delivered_lines a JOIN delivered_lines b ON b.order_id = a.order_id AND b.sku = a.sku
  WHERE b.delivered_at < a.delivered_at
     OR (b.delivered_at = a.delivered_at AND b.shipment_id <= a.shipment_id)
  GROUP BY a.order_id, a.sku, a.delivered_at, a.shipment_id
),
reached AS (
  SELECT d.order_id, d.sku, MIN(d.delivered_at) AS done_at
  FROM delivered d JOIN ordered o ON o.order_id = d.order_id AND o.sku = d.sku
  WHERE d.cum_qty >= o.qty
  GROUP BY d.order_id, d.sku
)
SELECT o.order_id, o.sku, o.qty AS ordered_qty, r.done_at
FROM ordered o LEFT JOIN reached r ON r.order_id = o.order_id AND r.sku = o.sku
