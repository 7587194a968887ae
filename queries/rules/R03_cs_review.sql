-- id: R03
-- clause: C2.2.1
-- department: cs
-- severity: major
-- description_zh: 庫存決定之前沒有客服二次審核（cs_reviewed）
-- description_en: Stock decision with no cs_reviewed before it
-- policy:
-- models: order_decision
-- grain: one item per order with a stock decision (K1's decision), at the decision.
WITH reviews AS (
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
  FROM order_decision d LEFT JOIN reviews r ON r.order_id = d.order_id
  WHERE d.decided_at IS NOT NULL
)
SELECT * FROM checked WHERE violated = 1
