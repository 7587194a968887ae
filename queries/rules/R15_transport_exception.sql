-- id: R15
-- clause: C6.1.1
-- department: logistics
-- severity: major
-- description_zh: 運輸異常超過時限仍未解決
-- description_en: Transport exception unresolved after the limit
-- policy: exception_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per transport_exception event (entity: the event), at its deadline;
--        resolved by the first exception_resolved of the same order and reference at or
--        after it; judged once resolved or the deadline passed.
WITH exceptions AS (
  SELECT event_id, order_id, reference, occurred_at,
         occurred_at + INTERVAL '{exception_hours}' HOUR AS deadline
  FROM order_events WHERE activity = 'transport_exception'
),
resolutions AS (
  SELECT x.event_id, MIN(r.occurred_at) AS resolved_at
  FROM exceptions x JOIN order_events r ON r.order_id = x.order_id
  WHERE r.activity = 'exception_resolved'
    AND (r.reference = x.reference OR (r.reference IS NULL AND x.reference IS NULL))
    AND r.occurred_at >= x.occurred_at
  GROUP BY x.event_id
),
checked AS (
  SELECT 'logistics' AS department, CAST(NULL AS STRING) AS staff_id, x.order_id,
         x.event_id AS entity_id, x.deadline AS at,
         CASE WHEN r.resolved_at IS NULL OR r.resolved_at > x.deadline THEN 1 ELSE 0 END AS violated,
         'exception ' || CAST(x.occurred_at AS STRING) || ', resolved '
           || COALESCE(CAST(r.resolved_at AS STRING), 'not yet') AS evidence
  FROM exceptions x LEFT JOIN resolutions r ON r.event_id = x.event_id
  WHERE r.resolved_at IS NOT NULL OR x.deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
