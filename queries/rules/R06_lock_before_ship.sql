-- id: R06
-- clause: C3.1.2
-- department: warehouse
-- severity: major
-- description_zh: 發貨的物料在發貨前沒有為該訂單鎖定庫存（按單生產且任務檢驗合格者除外）
-- description_en: A shipped sku with no stock_locked for it before shipping (made-to-order items excepted when their job passed QC)
-- policy:
-- grain: one item per shipment line, at shipped_at (entity: the shipment). Satisfied by a
--        stock_locked of that order for that sku, or with no sku, at or before shipping,
--        or by a production job of that order and sku whose qc_result is pass (QC timing
--        is R11's business).
WITH lines AS (
  SELECT s.shipment_id, s.order_id, s.shipped_at, l.sku
  FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.shipment_id
),
locks AS (
  SELECT l.shipment_id, l.sku
  FROM lines l JOIN order_events e ON e.order_id = l.order_id
  WHERE e.activity = 'stock_locked'
    AND (e.sku = l.sku OR e.sku IS NULL)
    AND e.occurred_at <= l.shipped_at
),
locked AS (
  SELECT DISTINCT shipment_id, sku FROM locks
),
made AS (
  SELECT DISTINCT order_id, sku FROM production_jobs WHERE qc_result = 'pass'
),
checked AS (
  SELECT 'warehouse' AS department,
         CAST(NULL AS STRING) AS staff_id,
         l.order_id,
         l.shipment_id AS entity_id,
         l.shipped_at AS at,
         CASE WHEN k.shipment_id IS NULL AND m.order_id IS NULL THEN 1 ELSE 0 END AS violated,
         l.sku || ' shipped ' || CAST(l.shipped_at AS STRING) || ' with no stock_locked before it' AS evidence
  FROM lines l
  LEFT JOIN locked k ON k.shipment_id = l.shipment_id AND k.sku = l.sku
  LEFT JOIN made m ON m.order_id = l.order_id AND m.sku = l.sku
)
SELECT * FROM checked WHERE violated = 1
