-- id: R09
-- clause: C3.2.1
-- department: purchasing
-- severity: minor
-- description_zh: 收到補貨通知後未在時限內向供應商下采購單（或至今未下單）
-- description_en: PO placed more than the limit after the replenishment notice, or not placed by as-of
-- policy: po_hours, as_of
-- needs: purchase_orders.placed_at
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per PO (entity: the PO), at its deadline, attributed to the buyer;
--        judged once placed or once the deadline passed. A PO whose customer order was
--        cancelled at or before the deadline cannot fail.
WITH pos AS (
  SELECT po_id, order_id, buyer_id, placed_at,
         requested_at + INTERVAL '{po_hours}' HOUR AS deadline
  FROM purchase_orders
),
cancelled AS (
  SELECT order_id, cancelled_at FROM orders WHERE status = 'cancelled'
),
checked AS (
  SELECT 'purchasing' AS department,
         p.buyer_id AS staff_id,
         p.order_id,
         p.po_id AS entity_id,
         p.deadline AS at,
         CASE WHEN c.order_id IS NOT NULL AND (c.cancelled_at IS NULL OR c.cancelled_at <= p.deadline) THEN 0
              WHEN p.placed_at IS NULL OR p.placed_at > p.deadline THEN 1
              ELSE 0 END AS violated,
         CASE WHEN p.placed_at IS NULL THEN 'not placed by the deadline ' || CAST(p.deadline AS STRING)
              ELSE 'placed ' || CAST(p.placed_at AS STRING) || ', deadline ' || CAST(p.deadline AS STRING) END AS evidence
  FROM pos p LEFT JOIN cancelled c ON c.order_id = p.order_id
  WHERE p.placed_at IS NOT NULL OR p.deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
