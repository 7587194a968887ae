-- id: K1
-- clause: C9.1.1, C10.2.1
-- department: company
-- scopes: company
-- codes: K1
-- description_zh: 訂單處理及時率：簽訂後在時限內作出庫存決定（鎖定或缺貨）的訂單佔比
-- description_en: Order processing timeliness: share of orders whose stock decision (lock or shortage) came within the limit after signing
-- policy: processing_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- models: order_decision
-- grain: one item per active order, in the month of its decision; an undecided order
--        enters the month of its deadline once the deadline has passed, as late.
WITH active AS (
  SELECT order_id, signed_at FROM orders WHERE status <> 'cancelled'
),
items AS (
  SELECT a.order_id, d.decided_at,
         a.signed_at + INTERVAL '{processing_hours}' HOUR AS deadline
  FROM active a LEFT JOIN order_decision d ON d.order_id = a.order_id
)
SELECT 'K1' AS kpi,
       order_id AS item_id,
       CAST(NULL AS STRING) AS department,
       CAST(NULL AS STRING) AS staff_id,
       EXTRACT(YEAR FROM COALESCE(decided_at, deadline)) AS period_year,
       EXTRACT(MONTH FROM COALESCE(decided_at, deadline)) AS period_month,
       CASE WHEN decided_at <= deadline THEN 1.0 ELSE 0.0 END AS num,
       1.0 AS den
FROM items
WHERE decided_at IS NOT NULL OR deadline < {as_of}
