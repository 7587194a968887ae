-- id: R08
-- clause: C3.1.3
-- department: cs
-- severity: major
-- description_zh: 缺貨後出現部分交付或逾期交付，卻沒有與客戶商定變更（customer_agreed_change）
-- description_en: After a shortage, a partial or late delivery with no customer_agreed_change
-- policy: as_of
-- needs: shipments.delivered_at
-- models: order_sku_done
-- grain: one item per active order with a stock_short. Violated when the order has no
--        customer_agreed_change at all and either a delivery after the first shortage
--        left it incomplete (at: that delivery) or it completed after, or was still short
--        at the end of, its original promised date (at: the end of that day). Judged once
--        such a delivery happened, the order completed, or the promised day ended.
WITH shortages AS (
  SELECT order_id, MIN(occurred_at) AS first_short FROM order_events
  WHERE activity = 'stock_short' GROUP BY order_id
),
agreed AS (
  SELECT DISTINCT order_id FROM order_events WHERE activity = 'customer_agreed_change'
),
completion AS (
  SELECT order_id,
         CASE WHEN COUNT(*) = COUNT(done_at) THEN MAX(done_at) END AS complete_at
  FROM order_sku_done GROUP BY order_id
),
partials AS (
  SELECT s.order_id, MIN(s.delivered_at) AS first_partial
  FROM shipments s
  JOIN shortages h ON h.order_id = s.order_id
  LEFT JOIN completion c ON c.order_id = s.order_id
  WHERE s.delivered_at IS NOT NULL AND s.delivered_at >= h.first_short
    AND (c.complete_at IS NULL OR s.delivered_at < c.complete_at)
  GROUP BY s.order_id
),
items AS (
  SELECT o.order_id, o.promised_date,
         CAST(o.promised_date AS TIMESTAMP) + INTERVAL '24' HOUR AS promised_end,
         c.complete_at, p.first_partial, g.order_id AS agreed_order
  FROM orders o
  JOIN shortages h ON h.order_id = o.order_id
  LEFT JOIN completion c ON c.order_id = o.order_id
  LEFT JOIN partials p ON p.order_id = o.order_id
  LEFT JOIN agreed g ON g.order_id = o.order_id
  WHERE o.status <> 'cancelled'
),
checked AS (
  SELECT 'cs' AS department,
         CAST(NULL AS STRING) AS staff_id,
         order_id,
         CAST(NULL AS STRING) AS entity_id,
         COALESCE(first_partial, promised_end) AS at,
         CASE WHEN agreed_order IS NOT NULL THEN 0
              WHEN first_partial IS NOT NULL THEN 1
              WHEN complete_at IS NULL OR complete_at >= promised_end THEN 1
              ELSE 0 END AS violated,
         'promised ' || CAST(promised_date AS STRING) || ', completed '
           || COALESCE(CAST(complete_at AS STRING), 'not yet')
           || CASE WHEN first_partial IS NOT NULL THEN ', partial delivery ' || CAST(first_partial AS STRING) ELSE '' END
           || ', no agreed change' AS evidence
  FROM items
  WHERE complete_at IS NOT NULL OR first_partial IS NOT NULL OR promised_end < {as_of}
)
SELECT * FROM checked WHERE violated = 1
