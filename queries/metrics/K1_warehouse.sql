-- id: K1
-- clause: C3.1.1, C3.1.2, C3.1.3, C10.2.1
-- department: warehouse
-- scopes: warehouse
-- codes: K1
-- description_zh: 訂單處理及時率（倉儲）：客戶確認後及時作出庫存決定
-- description_en: Order processing timeliness, warehouse steps: stock decision within the limit after customer confirmation
-- policy: stock_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- models: order_decision
-- grain: one item per active order with a customer_confirmed, in the month of its
--        decision (K1's decision), attributed to the actor of the first stock event
--        (ties by activity rank, then event id); undecided: late, in the month of the
--        deadline once it has passed.
WITH active AS (
  SELECT order_id FROM orders WHERE status <> 'cancelled'
),
confirmed AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'customer_confirmed'
  GROUP BY order_id
),
items AS (
  SELECT a.order_id, d.decided_at, d.decided_by AS staff_id,
         c.first_at + INTERVAL '{stock_hours}' HOUR AS deadline
  FROM active a
  JOIN confirmed c ON c.order_id = a.order_id
  LEFT JOIN order_decision d ON d.order_id = a.order_id
)
SELECT 'K1' AS kpi,
       order_id AS item_id,
       'warehouse' AS department,
       staff_id,
       EXTRACT(YEAR FROM COALESCE(decided_at, deadline)) AS period_year,
       EXTRACT(MONTH FROM COALESCE(decided_at, deadline)) AS period_month,
       CASE WHEN decided_at <= deadline THEN 1.0 ELSE 0.0 END AS num,
       1.0 AS den
FROM items
WHERE decided_at IS NOT NULL OR deadline < {as_of}
