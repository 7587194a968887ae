-- id: R07
-- clause: C3.1.3
-- department: warehouse
-- severity: major
-- description_zh: 缺貨後未在時限內同時通知采購補貨並告知客服
-- description_en: stock_short not followed within the limit by both a replenishment_requested and a shortage_reported_to_cs
-- policy: shortage_hours, as_of
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one item per stock_short event (entity: the event), at its deadline, attributed
--        to whoever recorded the shortage; judged once both follow-ups happened or the
--        deadline passed. Follow-ups count when they are of the same order, for the same
--        sku or with none, at or after the shortage. A cancellation at or before the
--        deadline means the check cannot fail.
WITH shorts AS (
  SELECT e.event_id, e.order_id, e.sku, e.occurred_at, e.actor_id,
         e.occurred_at + INTERVAL '{shortage_hours}' HOUR AS deadline
  FROM order_events e
  WHERE e.activity = 'stock_short'
),
follow_ups AS (
  SELECT s.event_id, f.activity, MIN(f.occurred_at) AS first_at
  FROM shorts s JOIN order_events f ON f.order_id = s.order_id
  WHERE f.activity IN ('replenishment_requested', 'shortage_reported_to_cs')
    AND (f.sku = s.sku OR f.sku IS NULL)
    AND f.occurred_at >= s.occurred_at
  GROUP BY s.event_id, f.activity
),
replenished AS (
  SELECT event_id, first_at FROM follow_ups WHERE activity = 'replenishment_requested'
),
reported AS (
  SELECT event_id, first_at FROM follow_ups WHERE activity = 'shortage_reported_to_cs'
),
judged AS (
  SELECT s.event_id, s.order_id, s.actor_id, s.deadline,
         r1.first_at AS replenished_at, r2.first_at AS reported_at,
         CASE WHEN o.status = 'cancelled' AND (o.cancelled_at IS NULL OR o.cancelled_at <= s.deadline) THEN 0
              WHEN r1.first_at IS NULL OR r1.first_at > s.deadline
                   OR r2.first_at IS NULL OR r2.first_at > s.deadline THEN 1
              ELSE 0 END AS violated
  FROM shorts s
  JOIN orders o ON o.order_id = s.order_id
  LEFT JOIN replenished r1 ON r1.event_id = s.event_id
  LEFT JOIN reported r2 ON r2.event_id = s.event_id
),
checked AS (
  SELECT 'warehouse' AS department,
         actor_id AS staff_id,
         order_id,
         event_id AS entity_id,
         deadline AS at,
         violated,
         'deadline ' || CAST(deadline AS STRING)
           || ', replenishment ' || COALESCE(CAST(replenished_at AS STRING), 'missing')
           || ', reported to cs ' || COALESCE(CAST(reported_at AS STRING), 'missing') AS evidence
  FROM judged
  WHERE (replenished_at IS NOT NULL AND reported_at IS NOT NULL) OR deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
