-- id: S_po_placed
-- clause: C3.2.1, C3.2.2
-- department: purchasing
-- scopes: company, purchasing
-- codes: S_po_placed, S_supplier_on_time
-- description_zh: 采購下單及時率（補貨通知後在時限內下單）與供應商準時到貨率（約定到貨日當天結束前到貨）
-- description_en: POs placed within the limit after the replenishment notice; supplier on time (received by the end of the due date)
-- policy: po_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: S_po_placed: one item per PO in the month of requested_at, attributed to the
--        buyer; an unplaced PO enters once its deadline has passed, as late.
--        S_supplier_on_time: one item per PO with a due_date, placed or not, in the month
--        of the due date, once received or once the due day has ended.
WITH placed AS (
  SELECT 'S_po_placed' AS kpi, po_id, buyer_id,
         EXTRACT(YEAR FROM requested_at) AS period_year,
         EXTRACT(MONTH FROM requested_at) AS period_month,
         CASE WHEN placed_at <= requested_at + INTERVAL '{po_hours}' HOUR THEN 1.0 ELSE 0.0 END AS num
  FROM purchase_orders
  WHERE placed_at IS NOT NULL OR requested_at + INTERVAL '{po_hours}' HOUR < {as_of}
),
supplier AS (
  SELECT 'S_supplier_on_time' AS kpi, po_id, buyer_id,
         EXTRACT(YEAR FROM due_date) AS period_year,
         EXTRACT(MONTH FROM due_date) AS period_month,
         CASE WHEN received_at IS NOT NULL AND CAST(received_at AS DATE) <= due_date
              THEN 1.0 ELSE 0.0 END AS num
  FROM purchase_orders
  WHERE due_date IS NOT NULL
    AND (received_at IS NOT NULL OR CAST(due_date AS TIMESTAMP) + INTERVAL '24' HOUR < {as_of})
),
judged AS (
  SELECT * FROM placed
  UNION ALL
  SELECT * FROM supplier
)
SELECT kpi, po_id AS item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT kpi, po_id AS item_id, 'purchasing' AS department, buyer_id AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM judged
