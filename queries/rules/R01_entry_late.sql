-- id: R01
-- clause: C2.1.1
-- department: sales
-- severity: minor
-- description_zh: 訂單簽訂後未在時限內錄入業務系統（或至今未錄入）
-- description_en: Order entered more than the limit after signing, or never entered
-- policy: entry_hours, as_of
-- needs: orders.entered_at
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per order, at its entry deadline (signed_at + entry_hours), judged once
--        entered or once the deadline has passed; attributed to the sales rep. A
--        cancellation at or before the deadline means the check cannot fail.
WITH orders_due AS (
  SELECT order_id, sales_rep_id, status, cancelled_at, entered_at,
         signed_at + INTERVAL '{entry_hours}' HOUR AS deadline
  FROM orders
),
checked AS (
  SELECT 'sales' AS department,
         sales_rep_id AS staff_id,
         order_id,
         CAST(NULL AS STRING) AS entity_id,
         deadline AS at,
         CASE WHEN status = 'cancelled' AND (cancelled_at IS NULL OR cancelled_at <= deadline) THEN 0
              WHEN entered_at IS NULL OR entered_at > deadline THEN 1
              ELSE 0 END AS violated,
         CASE WHEN entered_at IS NULL THEN 'not entered by the deadline ' || CAST(deadline AS STRING)
              ELSE 'entered ' || CAST(entered_at AS STRING) || ', deadline ' || CAST(deadline AS STRING) END AS evidence
  FROM orders_due
  WHERE entered_at IS NOT NULL OR deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
