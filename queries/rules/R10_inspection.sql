-- id: R10
-- clause: C3.2.3
-- department: warehouse
-- severity: minor
-- description_zh: 采購到貨未在時限內驗收，或驗收不合格的貨物仍被發出
-- description_en: Received PO not inspected within the limit, or its goods shipped after a failed inspection
-- policy: inspect_hours, as_of
-- needs: purchase_orders.received_at, purchase_orders.inspected_at, purchase_orders.inspection_result
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one row per failed check of a PO (entity: the PO). (a) received POs, at the
--        inspection deadline, judged once inspected or the deadline passed; (b) POs with a
--        failed inspection, at the first shipment of that order carrying the sku after the
--        inspection — excused when another PO of the order and sku passed inspection
--        before that shipment.
WITH received AS (
  SELECT po_id, order_id, inspected_at,
         received_at + INTERVAL '{inspect_hours}' HOUR AS deadline
  FROM purchase_orders
  WHERE received_at IS NOT NULL
),
failed AS (
  SELECT po_id, order_id, sku, inspected_at FROM purchase_orders
  WHERE inspection_result = 'fail' AND inspected_at IS NOT NULL
),
shipped_after AS (
  SELECT f.po_id, MIN(s.shipped_at) AS shipped_at
  FROM failed f
  JOIN shipments s ON s.order_id = f.order_id
  JOIN shipment_lines l ON l.shipment_id = s.shipment_id AND l.sku = f.sku
  WHERE s.shipped_at > f.inspected_at
  GROUP BY f.po_id
),
passed_other AS (
  SELECT a.po_id, MIN(p.inspected_at) AS passed_at
  FROM failed a JOIN purchase_orders p ON p.order_id = a.order_id AND p.sku = a.sku
  WHERE p.po_id <> a.po_id AND p.inspection_result = 'pass' AND p.inspected_at IS NOT NULL
  GROUP BY a.po_id
),
checked AS (
  SELECT 'warehouse' AS department,
         CAST(NULL AS STRING) AS staff_id,
         order_id,
         po_id AS entity_id,
         deadline AS at,
         CASE WHEN inspected_at IS NULL OR inspected_at > deadline THEN 1 ELSE 0 END AS violated,
         'inspection deadline ' || CAST(deadline AS STRING) || ', inspected '
           || COALESCE(CAST(inspected_at AS STRING), 'never') AS evidence
  FROM received
  WHERE inspected_at IS NOT NULL OR deadline < {as_of}
  UNION ALL
  SELECT 'warehouse' AS department,
         CAST(NULL AS STRING) AS staff_id,
         f.order_id,
         f.po_id AS entity_id,
         COALESCE(a.shipped_at, f.inspected_at) AS at,
         CASE WHEN a.shipped_at IS NOT NULL AND (o.passed_at IS NULL OR o.passed_at > a.shipped_at)
              THEN 1 ELSE 0 END AS violated,
         'inspection failed ' || CAST(f.inspected_at AS STRING) || ', shipped '
           || COALESCE(CAST(a.shipped_at AS STRING), 'not since') AS evidence
  FROM failed f
  LEFT JOIN shipped_after a ON a.po_id = f.po_id
  LEFT JOIN passed_other o ON o.po_id = f.po_id
)
SELECT * FROM checked WHERE violated = 1
