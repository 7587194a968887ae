-- id: K1
-- clause: C2.2.1, C2.2.2, C10.2.1
-- department: cs
-- scopes: cs
-- codes: K1
-- description_zh: 訂單處理及時率（客服）：收到訂單後及時與客戶確認
-- description_en: Order processing timeliness, CS steps: customer confirmation within the limit after the order reached CS
-- policy: confirm_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per active order with a submitted_to_cs, in the month of the first
--        customer_confirmed, attributed to whoever recorded it; not confirmed: late, in
--        the month of the deadline once it has passed.
WITH active AS (
  SELECT order_id FROM orders WHERE status <> 'cancelled'
),
submitted AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'submitted_to_cs'
  GROUP BY order_id
),
confirmations AS (
  SELECT event_id, order_id, occurred_at, actor_id FROM order_events
  WHERE activity = 'customer_confirmed'
),
first_confirmation_at AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM confirmations GROUP BY order_id
),
first_confirmation AS (
  SELECT c.order_id, MIN(c.event_id) AS event_id
  FROM confirmations c JOIN first_confirmation_at f
    ON f.order_id = c.order_id AND c.occurred_at = f.first_at
  GROUP BY c.order_id
),
confirmed AS (
  SELECT c.order_id, c.occurred_at AS first_at, c.actor_id
  FROM confirmations c JOIN first_confirmation f ON f.event_id = c.event_id
),
items AS (
  SELECT a.order_id, c.first_at AS confirmed_at, c.actor_id,
         s.first_at + INTERVAL '{confirm_hours}' HOUR AS deadline
  FROM active a
  JOIN submitted s ON s.order_id = a.order_id
  LEFT JOIN confirmed c ON c.order_id = a.order_id
)
SELECT 'K1' AS kpi,
       order_id AS item_id,
       'cs' AS department,
       actor_id AS staff_id,
       EXTRACT(YEAR FROM COALESCE(confirmed_at, deadline)) AS period_year,
       EXTRACT(MONTH FROM COALESCE(confirmed_at, deadline)) AS period_month,
       CASE WHEN confirmed_at <= deadline THEN 1.0 ELSE 0.0 END AS num,
       1.0 AS den
FROM items
WHERE confirmed_at IS NOT NULL OR deadline < {as_of}
