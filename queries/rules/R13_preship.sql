-- id: R13
-- clause: C5.2.3
-- department: logistics
-- severity: major
-- description_zh: 發貨前未覆核（無 preship_checked），或發出訂單以外的物料，或發貨數量超過訂購數量
-- description_en: Shipment with no preship_checked before shipped_at, or shipping a sku not on the order, or more than ordered
-- policy:
-- grain: entity the shipment, at shipped_at, attributed to its handled_by: (a) one item
--        per shipment (a preship_checked naming it, or naming none, at or before
--        shipping); (b) one item per shipment line, violated when its sku is not on the
--        order; (c) one item per shipment, violated when some sku's cumulative shipped
--        quantity first exceeds the ordered quantity at it.
WITH prechecks AS (
  SELECT s.shipment_id
  FROM shipments s JOIN order_events e ON e.order_id = s.order_id
  WHERE e.activity = 'preship_checked'
    AND (e.reference = s.shipment_id OR e.reference IS NULL)
    AND e.occurred_at <= s.shipped_at
),
checked_ships AS (
  SELECT DISTINCT shipment_id FROM prechecks
),
ordered AS (
  SELECT order_id, sku, SUM(quantity) AS qty FROM order_lines GROUP BY order_id, sku
),
ship_lines AS (
  SELECT s.shipment_id, s.order_id, s.shipped_at, s.handled_by, l.sku, l.quantity
  FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.shipment_id
),
-- The running quantity per order and sku in shipping order (shipment id breaks ties),
-- as a self-join rather than SUM() OVER (… ORDER BY …): the same sums
-- (tests/it/props.rs), several times faster on polars.
lines AS (
  SELECT a.shipment_id, a.order_id, a.shipped_at, a.handled_by, a.sku, a.quantity,
         SUM(b.quantity) AS cum_qty
  FROM ship_lines a JOIN ship_lines b ON b.order_id = a.order_id AND b.sku = a.sku
  WHERE b.shipped_at < a.shipped_at
     OR (b.shipped_at = a.shipped_at AND b.shipment_id <= a.shipment_id)
  GROUP BY a.shipment_id, a.order_id, a.shipped_at, a.handled_by, a.sku, a.quantity
),
lines_vs_order AS (
  SELECT l.*, o.qty AS ordered_qty
  FROM lines l LEFT JOIN ordered o ON o.order_id = l.order_id AND o.sku = l.sku
),
over_shipped AS (
  SELECT shipment_id, MIN(sku) AS sku, MIN(cum_qty) AS cum_qty, MIN(ordered_qty) AS ordered_qty
  FROM lines_vs_order
  WHERE ordered_qty IS NOT NULL AND cum_qty > ordered_qty AND cum_qty - quantity <= ordered_qty
  GROUP BY shipment_id
),
checked AS (
  SELECT 'logistics' AS department, s.handled_by AS staff_id, s.order_id, s.shipment_id AS entity_id,
         s.shipped_at AS at,
         CASE WHEN c.shipment_id IS NULL THEN 1 ELSE 0 END AS violated,
         'no preship_checked at or before shipping ' || CAST(s.shipped_at AS STRING) AS evidence
  FROM shipments s LEFT JOIN checked_ships c ON c.shipment_id = s.shipment_id
  UNION ALL
  SELECT 'logistics' AS department, handled_by AS staff_id, order_id, shipment_id AS entity_id,
         shipped_at AS at,
         CASE WHEN ordered_qty IS NULL THEN 1 ELSE 0 END AS violated,
         sku || ' is not on the order' AS evidence
  FROM lines_vs_order
  UNION ALL
  SELECT 'logistics' AS department, s.handled_by AS staff_id, s.order_id, s.shipment_id AS entity_id,
         s.shipped_at AS at,
         CASE WHEN o.shipment_id IS NOT NULL THEN 1 ELSE 0 END AS violated,
         COALESCE(o.sku || ': ' || CAST(o.cum_qty AS STRING) || ' shipped, ' || CAST(o.ordered_qty AS STRING) || ' ordered', '') AS evidence
  FROM shipments s LEFT JOIN over_shipped o ON o.shipment_id = s.shipment_id
)
SELECT * FROM checked WHERE violated = 1
