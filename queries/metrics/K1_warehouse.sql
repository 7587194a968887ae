-- id: K1
-- clause: C3.1.1, C3.1.2, C3.1.3, C10.2.1
-- department: warehouse
-- scopes: warehouse
-- codes: K1
-- description_zh: 訂單處理及時率（倉儲）：客戶確認後及時作出庫存決定
-- description_en: Order processing timeliness, warehouse steps: stock decision within the limit after customer confirmation
-- policy: stock_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per active order with a customer_confirmed, in the month of its
--        decision (K1's decision), attributed to the actor of the first stock event
--        (ties by activity rank, then event id); undecided: late, in the month of the
--        deadline once it has passed.
WITH active AS (
  SELECT order_id, needs_production FROM orders WHERE status <> 'cancelled'
),
confirmed AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'customer_confirmed'
  GROUP BY order_id
),
stock_events AS (
  SELECT e.event_id, e.order_id, e.occurred_at, e.actor_id, r.activity_rank
  FROM order_events e JOIN activity_ranks r ON r.activity = e.activity
  WHERE e.activity IN ('stock_locked', 'stock_short')
),
first_stock_at AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM stock_events GROUP BY order_id
),
first_stock_rank AS (
  SELECT s.order_id, MIN(s.activity_rank) AS activity_rank
  FROM stock_events s JOIN first_stock_at f ON f.order_id = s.order_id AND s.occurred_at = f.first_at
  GROUP BY s.order_id
),
first_stock_event AS (
  SELECT s.order_id, MIN(s.event_id) AS event_id
  FROM stock_events s
  JOIN first_stock_at f ON f.order_id = s.order_id AND s.occurred_at = f.first_at
  JOIN first_stock_rank k ON k.order_id = s.order_id AND s.activity_rank = k.activity_rank
  GROUP BY s.order_id
),
stock AS (
  SELECT s.order_id, s.occurred_at AS first_at, s.actor_id
  FROM stock_events s JOIN first_stock_event f ON f.event_id = s.event_id
),
planned AS (
  SELECT order_id, MIN(planned_at) AS first_at FROM production_jobs
  WHERE planned_at IS NOT NULL
  GROUP BY order_id
),
items AS (
  SELECT a.order_id,
         CASE WHEN a.needs_production AND p.first_at IS NOT NULL AND (s.first_at IS NULL OR p.first_at < s.first_at)
              THEN p.first_at ELSE s.first_at END AS decided_at,
         CASE WHEN a.needs_production AND p.first_at IS NOT NULL AND (s.first_at IS NULL OR p.first_at < s.first_at)
              THEN CAST(NULL AS STRING) ELSE s.actor_id END AS staff_id,
         c.first_at + INTERVAL '{stock_hours}' HOUR AS deadline
  FROM active a
  JOIN confirmed c ON c.order_id = a.order_id
  LEFT JOIN stock s ON s.order_id = a.order_id
  LEFT JOIN planned p ON p.order_id = a.order_id
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
