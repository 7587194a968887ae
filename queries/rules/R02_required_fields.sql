-- id: R02
-- clause: C2.1.1
-- department: sales
-- severity: minor
-- description_zh: 訂單必填資料缺失：客戶名稱、聯繫方式、交貨地點、交貨時間、明細的規格或數量
-- description_en: A required order field is empty: customer name, contact, delivery place, promised date, a line's spec or quantity
-- policy: entry_hours
-- needs: orders.customer_name, orders.customer_contact, orders.delivery_place, order_lines.spec
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per order, at its entry deadline; one violation row lists every empty
--        field. promised_date and a line's quantity are required by the data contract,
--        so rows missing them never reach the lake (they are quarantined at ingest).
WITH empty_specs AS (
  SELECT order_id, MIN(line_no) AS first_line, COUNT(*) AS lines
  FROM order_lines WHERE spec IS NULL
  GROUP BY order_id
),
checked AS (
  SELECT 'sales' AS department,
         o.sales_rep_id AS staff_id,
         o.order_id,
         CAST(NULL AS STRING) AS entity_id,
         o.signed_at + INTERVAL '{entry_hours}' HOUR AS at,
         CASE WHEN o.customer_name IS NULL OR o.customer_contact IS NULL OR o.delivery_place IS NULL
                   OR s.order_id IS NOT NULL
              THEN 1 ELSE 0 END AS violated,
         'empty:' || CASE WHEN o.customer_name IS NULL THEN ' customer_name' ELSE '' END
                  || CASE WHEN o.customer_contact IS NULL THEN ' customer_contact' ELSE '' END
                  || CASE WHEN o.delivery_place IS NULL THEN ' delivery_place' ELSE '' END
                  || CASE WHEN s.order_id IS NOT NULL
                          THEN ' spec of line ' || CAST(s.first_line AS STRING)
                               || CASE WHEN s.lines > 1 THEN ' (+' || CAST(s.lines - 1 AS STRING) || ' more)' ELSE '' END
                          ELSE '' END AS evidence
  FROM orders o LEFT JOIN empty_specs s ON s.order_id = o.order_id
)
SELECT * FROM checked WHERE violated = 1
