-- id: R05
-- clause: C2.2.2
-- department: cs
-- severity: major
-- description_zh: 客戶確認（customer_confirmed）之前已發貨
-- description_en: A shipment before customer_confirmed
-- policy:
-- grain: one item per shipment, at shipped_at; confirmed at the shipping instant passes.
WITH confirmations AS (
  SELECT order_id, MIN(occurred_at) AS first_at FROM order_events
  WHERE activity = 'customer_confirmed'
  GROUP BY order_id
),
checked AS (
  SELECT 'cs' AS department,
         CAST(NULL AS STRING) AS staff_id,
         s.order_id,
         s.shipment_id AS entity_id,
         s.shipped_at AS at,
         CASE WHEN c.first_at IS NULL OR c.first_at > s.shipped_at THEN 1 ELSE 0 END AS violated,
         CASE WHEN c.first_at IS NULL THEN 'shipped ' || CAST(s.shipped_at AS STRING) || ', never confirmed'
              ELSE 'shipped ' || CAST(s.shipped_at AS STRING) || ', confirmed ' || CAST(c.first_at AS STRING) END AS evidence
  FROM shipments s LEFT JOIN confirmations c ON c.order_id = s.order_id
)
SELECT * FROM checked WHERE violated = 1
