-- id: R03
-- clause: C2.2.1
-- department: cs
-- severity: major
-- description_zh: 庫存決定之前沒有客服二次審核（cs_reviewed）
-- description_en: Stock decision with no cs_reviewed before it
-- policy:
-- grain: one item per order with a stock decision (K1's decision), at the decision.
WITH stock AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity IN ('stock_locked', 'stock_short')
  GROUP BY order_id
),
planned AS (
  SELECT order_id, MIN(planned_at) AS first_at FROM production_jobs
  WHERE planned_at IS NOT NULL
  GROUP BY order_id
),
decisions AS (
  SELECT o.order_id,
         CASE WHEN o.needs_production AND p.first_at IS NOT NULL AND (s.first_at IS NULL OR p.first_at < s.first_at)
              THEN p.first_at ELSE s.first_at END AS decided_at
  FROM orders o
  LEFT JOIN stock s ON s.order_id = o.order_id
  LEFT JOIN planned p ON p.order_id = o.order_id
),
reviews AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'cs_reviewed'
  GROUP BY order_id
),
checked AS (
  SELECT 'cs' AS department,
         CAST(NULL AS STRING) AS staff_id,
         d.order_id,
         CAST(NULL AS STRING) AS entity_id,
         d.decided_at AS at,
         CASE WHEN r.first_at IS NULL OR r.first_at > d.decided_at THEN 1 ELSE 0 END AS violated,
         CASE WHEN r.first_at IS NULL THEN 'decision ' || CAST(d.decided_at AS STRING) || ', no cs_reviewed'
              ELSE 'decision ' || CAST(d.decided_at AS STRING) || ', first cs_reviewed ' || CAST(r.first_at AS STRING) END AS evidence
  FROM decisions d LEFT JOIN reviews r ON r.order_id = d.order_id
  WHERE d.decided_at IS NOT NULL
)
SELECT * FROM checked WHERE violated = 1
