-- id: S_tracking_relay
-- clause: C5.2.4
-- department: logistics
-- scopes: company, logistics, cs
-- codes: S_tracking_relay
-- description_zh: 物流單號轉達及時率：發貨後在時限內把物流單號告知客戶的發貨單佔比
-- description_en: Tracking relay: share of shipments whose tracking number reached the customer within the limit after shipping
-- policy: tracking_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per shipment, in the month of shipped_at; the relay is the earliest
--        tracking_sent_to_customer naming the shipment, or naming none and made at or
--        after it shipped. Logistics' items carry the shipment's handled_by.
WITH relay AS (
  SELECT s.shipment_id, MIN(e.occurred_at) AS relayed_at
  FROM shipments s JOIN order_events e ON e.order_id = s.order_id
  WHERE e.activity = 'tracking_sent_to_customer'
    AND (e.reference = s.shipment_id OR (e.reference IS NULL AND e.occurred_at >= s.shipped_at))
  GROUP BY s.shipment_id
),
items AS (
  SELECT s.shipment_id, s.handled_by, s.shipped_at, r.relayed_at,
         s.shipped_at + INTERVAL '{tracking_hours}' HOUR AS deadline
  FROM shipments s LEFT JOIN relay r ON r.shipment_id = s.shipment_id
),
judged AS (
  SELECT shipment_id, handled_by,
         EXTRACT(YEAR FROM shipped_at) AS period_year,
         EXTRACT(MONTH FROM shipped_at) AS period_month,
         CASE WHEN relayed_at <= deadline THEN 1.0 ELSE 0.0 END AS num
  FROM items
  WHERE relayed_at IS NOT NULL OR deadline < {as_of}
)
SELECT 'S_tracking_relay' AS kpi, shipment_id AS item_id, CAST(NULL AS STRING) AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT 'S_tracking_relay' AS kpi, shipment_id AS item_id, 'logistics' AS department,
       handled_by AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT 'S_tracking_relay' AS kpi, shipment_id AS item_id, 'cs' AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
