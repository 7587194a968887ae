-- id: R14
-- clause: C5.2.4
-- department: logistics
-- severity: minor
-- description_zh: 無物流單號，或物流未及時把單號交給客服，或客服未及時告知客戶
-- description_en: No tracking number, or tracking_sent_to_cs later than the limit after shipping, or tracking_sent_to_customer later than the limit after that
-- policy: tracking_hours, as_of
-- needs: shipments.tracking_no
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one row per shipment and failed check (entity: the shipment): (a) no tracking
--        number, logistics, at shipped_at; (b) relay to cs late or missing, logistics, at
--        its deadline, judged once relayed or the deadline passed; (c) relay to the
--        customer more than the limit after the relay to cs, cs, judged only when the cs
--        relay exists. A relay event counts for the shipment it names, or, naming none,
--        for every shipment shipped at or before it; the earliest counts.
WITH relays AS (
  SELECT s.shipment_id, e.activity, MIN(e.occurred_at) AS first_at
  FROM shipments s JOIN order_events e ON e.order_id = s.order_id
  WHERE e.activity IN ('tracking_sent_to_cs', 'tracking_sent_to_customer')
    AND (e.reference = s.shipment_id OR (e.reference IS NULL AND e.occurred_at >= s.shipped_at))
  GROUP BY s.shipment_id, e.activity
),
to_cs AS (
  SELECT shipment_id, first_at FROM relays WHERE activity = 'tracking_sent_to_cs'
),
to_customer AS (
  SELECT shipment_id, first_at FROM relays WHERE activity = 'tracking_sent_to_customer'
),
ships AS (
  SELECT s.shipment_id, s.order_id, s.handled_by, s.tracking_no, s.shipped_at,
         s.shipped_at + INTERVAL '{tracking_hours}' HOUR AS cs_deadline,
         c.first_at AS cs_at, k.first_at AS customer_at,
         c.first_at + INTERVAL '{tracking_hours}' HOUR AS customer_deadline
  FROM shipments s
  LEFT JOIN to_cs c ON c.shipment_id = s.shipment_id
  LEFT JOIN to_customer k ON k.shipment_id = s.shipment_id
),
checked AS (
  SELECT 'logistics' AS department, handled_by AS staff_id, order_id, shipment_id AS entity_id,
         shipped_at AS at,
         CASE WHEN tracking_no IS NULL THEN 1 ELSE 0 END AS violated,
         'no tracking number' AS evidence
  FROM ships
  UNION ALL
  SELECT 'logistics' AS department, handled_by AS staff_id, order_id, shipment_id AS entity_id,
         cs_deadline AS at,
         CASE WHEN cs_at IS NULL OR cs_at > cs_deadline THEN 1 ELSE 0 END AS violated,
         'shipped ' || CAST(shipped_at AS STRING) || ', tracking to cs '
           || COALESCE(CAST(cs_at AS STRING), 'missing') AS evidence
  FROM ships
  WHERE cs_at IS NOT NULL OR cs_deadline < {as_of}
  UNION ALL
  SELECT 'cs' AS department, CAST(NULL AS STRING) AS staff_id, order_id, shipment_id AS entity_id,
         customer_deadline AS at,
         CASE WHEN customer_at IS NULL OR customer_at > customer_deadline THEN 1 ELSE 0 END AS violated,
         'tracking to cs ' || CAST(cs_at AS STRING) || ', to the customer '
           || COALESCE(CAST(customer_at AS STRING), 'missing') AS evidence
  FROM ships
  WHERE cs_at IS NOT NULL AND (customer_at IS NOT NULL OR customer_deadline < {as_of})
)
SELECT * FROM checked WHERE violated = 1
