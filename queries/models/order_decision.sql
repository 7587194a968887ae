-- id: order_decision
-- description_zh: 訂單的庫存決定（首個鎖定或缺貨事件；需生產訂單如計劃更早則為生產計劃時間）及決定人
-- description_en: An order's stock decision (its first stock_locked or stock_short, or for a made-to-order order the earliest job plan if that is earlier) and who made it
-- grain: one row per order with a decision: decided_at, decided_by (the actor of the
--        first stock event — ties by activity rank, then event id; NULL when a production
--        plan was the decision). K1's decision; R03's "stock decision". Used by K1,
--        K1_warehouse and R03.
WITH stock_events AS (
  SELECT e.event_id, e.order_id, e.occurred_at, e.actor_id, r.activity_rank
  FROM order_events e JOIN activity_ranks r ON r.activity = e.activity
  WHERE e.activity IN ('stock_locked', 'stock_short')
),
first_stock_at AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM stock_events GROUP BY order_id
),
-- The stock events at each order's first instant, kept once: ranks and event ids are
-- then compared among these few rows rather than joined back to every stock event.
at_first AS (
  SELECT s.order_id, s.event_id, s.occurred_at, s.actor_id, s.activity_rank
  FROM stock_events s JOIN first_stock_at f ON f.order_id = s.order_id AND s.occurred_at = f.first_at
),
first_stock_rank AS (
  SELECT order_id, MIN(activity_rank) AS activity_rank FROM at_first GROUP BY order_id
),
first_stock_event AS (
  SELECT a.order_id, MIN(a.event_id) AS event_id
  FROM at_first a JOIN first_stock_rank k ON k.order_id = a.order_id AND a.activity_rank = k.activity_rank
  GROUP BY a.order_id
),
stock AS (
  SELECT a.order_id, a.occurred_at AS first_at, a.actor_id
  FROM at_first a JOIN first_stock_event f ON f.order_id = a.order_id AND f.event_id = a.event_id
),
planned AS (
  SELECT order_id, MIN(planned_at) AS first_at FROM production_jobs
  WHERE planned_at IS NOT NULL
  GROUP BY order_id
),
decisions AS (
  SELECT o.order_id,
         CASE WHEN o.needs_production AND p.first_at IS NOT NULL AND (s.first_at IS NULL OR p.first_at < s.first_at)
              THEN 1 ELSE 0 END AS by_plan,
         s.first_at AS stock_at, s.actor_id, p.first_at AS planned_at
  FROM orders o
  LEFT JOIN stock s ON s.order_id = o.order_id
  LEFT JOIN planned p ON p.order_id = o.order_id
)
SELECT order_id,
       CASE WHEN by_plan = 1 THEN planned_at ELSE stock_at END AS decided_at,
       CASE WHEN by_plan = 1 THEN CAST(NULL AS STRING) ELSE actor_id END AS decided_by
FROM decisions
WHERE stock_at IS NOT NULL OR planned_at IS NOT NULL
