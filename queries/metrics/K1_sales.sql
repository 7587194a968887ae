-- id: K1
-- clause: C2.1.1, C2.1.3, C10.2.1
-- department: sales
-- scopes: sales
-- codes: K1
-- description_zh: 訂單處理及時率（銷售）：簽訂後及時錄入，且錄入後及時提交客服
-- description_en: Order processing timeliness, sales steps: entered within the limit after signing and submitted to CS within the limit after entry
-- policy: entry_hours, review_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per active order, attributed to its sales rep, in the month of the
--        first submitted_to_cs; not submitted: late, in the month of the first deadline
--        that has passed (entry deadline if entry was late or missing, else review deadline).
WITH active AS (
  SELECT order_id, signed_at, entered_at, sales_rep_id FROM orders WHERE status <> 'cancelled'
),
submitted AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'submitted_to_cs'
  GROUP BY order_id
),
steps AS (
  SELECT a.order_id, a.sales_rep_id, s.first_at AS submitted_at,
         CASE WHEN a.entered_at IS NOT NULL
                   AND a.entered_at <= a.signed_at + INTERVAL '{entry_hours}' HOUR
              THEN 1 ELSE 0 END AS entry_ok,
         a.entered_at,
         a.signed_at + INTERVAL '{entry_hours}' HOUR AS entry_deadline,
         a.entered_at + INTERVAL '{review_hours}' HOUR AS review_deadline
  FROM active a LEFT JOIN submitted s ON s.order_id = a.order_id
),
items AS (
  SELECT order_id, sales_rep_id, submitted_at,
         CASE WHEN entry_ok = 1 AND submitted_at IS NOT NULL AND submitted_at <= review_deadline
              THEN 1.0 ELSE 0.0 END AS num,
         COALESCE(submitted_at,
                  CASE WHEN entry_ok = 1 THEN review_deadline ELSE entry_deadline END) AS period_at
  FROM steps
)
SELECT 'K1' AS kpi,
       order_id AS item_id,
       'sales' AS department,
       sales_rep_id AS staff_id,
       EXTRACT(YEAR FROM period_at) AS period_year,
       EXTRACT(MONTH FROM period_at) AS period_month,
       num,
       1.0 AS den
FROM items
WHERE submitted_at IS NOT NULL OR period_at < {as_of}
