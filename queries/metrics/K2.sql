-- id: K2
-- clause: C9.1.1, C10.2.1, C7.1
-- department: logistics
-- scopes: company, logistics
-- codes: K2, K2_original, K2_otif_line
-- description_zh: 交貨準時率：到期訂單中按時全數交付的佔比（同時報告原始交期與按行 OTIF）
-- description_en: On-time delivery: share of due orders delivered in full by their due date (also against the original promise, and in full by line)
-- policy: due_basis, as_of
-- models: order_sku_done
-- grain: one item per active order in the month of its due date, once complete or once
--        its due day has ended while still short (late). Codes: K2 (policy basis),
--        K2_original (promised_date), K2_otif_line (one item per order line, policy basis).
--        Company figure and logistics' are the same items.
WITH active AS (
  SELECT order_id, promised_date FROM orders WHERE status <> 'cancelled'
),
dated_changes AS (
  SELECT event_id, order_id, occurred_at, new_promised_date FROM order_events
  WHERE activity = 'customer_agreed_change' AND new_promised_date IS NOT NULL
),
last_change_at AS (
  SELECT order_id, MAX(occurred_at) AS last_at FROM dated_changes GROUP BY order_id
),
last_change AS (
  SELECT d.order_id, MAX(d.event_id) AS event_id
  FROM dated_changes d JOIN last_change_at l ON l.order_id = d.order_id AND d.occurred_at = l.last_at
  GROUP BY d.order_id
),
agreed AS (
  SELECT d.order_id, d.new_promised_date
  FROM dated_changes d JOIN last_change l ON l.event_id = d.event_id
),
sku_done AS (
  SELECT order_id, sku, done_at FROM order_sku_done
),
completion AS (
  SELECT order_id, MAX(done_at) AS done_at, COUNT(*) AS skus, COUNT(done_at) AS skus_done
  FROM sku_done GROUP BY order_id
),
orders_due AS (
  SELECT a.order_id, a.promised_date,
         CASE WHEN '{due_basis}' = 'agreed' THEN COALESCE(g.new_promised_date, a.promised_date)
              ELSE a.promised_date END AS due_date,
         CASE WHEN c.skus > 0 AND c.skus = c.skus_done THEN c.done_at END AS completed_at
  FROM active a
  LEFT JOIN agreed g ON g.order_id = a.order_id
  LEFT JOIN completion c ON c.order_id = a.order_id
),
order_items AS (
  SELECT 'K2' AS kpi, order_id AS item_id, due_date, completed_at FROM orders_due
  UNION ALL
  SELECT 'K2_original' AS kpi, order_id AS item_id, promised_date AS due_date, completed_at FROM orders_due
),
line_items AS (
  SELECT 'K2_otif_line' AS kpi,
         l.order_id || '#' || CAST(l.line_no AS STRING) AS item_id,
         o.due_date,
         CASE WHEN o.completed_at IS NOT NULL OR CAST(o.due_date AS TIMESTAMP) + INTERVAL '24' HOUR < {as_of}
              THEN d.done_at END AS completed_at,
         o.completed_at AS order_completed_at
  FROM order_lines l
  JOIN orders_due o ON o.order_id = l.order_id
  JOIN sku_done d ON d.order_id = l.order_id AND d.sku = l.sku
),
items AS (
  SELECT kpi, item_id, due_date, completed_at FROM order_items
  WHERE completed_at IS NOT NULL OR CAST(due_date AS TIMESTAMP) + INTERVAL '24' HOUR < {as_of}
  UNION ALL
  SELECT kpi, item_id, due_date, completed_at FROM line_items
  WHERE order_completed_at IS NOT NULL OR CAST(due_date AS TIMESTAMP) + INTERVAL '24' HOUR < {as_of}
),
judged AS (
  SELECT kpi, item_id,
         EXTRACT(YEAR FROM due_date) AS period_year,
         EXTRACT(MONTH FROM due_date) AS period_month,
         CASE WHEN completed_at IS NOT NULL AND CAST(completed_at AS DATE) <= due_date
              THEN 1.0 ELSE 0.0 END AS num
  FROM items
)
SELECT kpi, item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT kpi, item_id, 'logistics' AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM judged
