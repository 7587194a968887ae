-- id: R16
-- clause: C6.2.2
-- department: cs
-- severity: minor
-- description_zh: 訂單履約期間超過規定天數未向客戶更新進度
-- description_en: An open order with a gap of more than the limit without progress_update_sent
-- policy: update_days, as_of
-- needs: shipments.delivered_at
-- models: order_sku_done
-- grain: one item per gap of the open interval signing → progress updates → completion
--        (every sku delivered in full), cancellation or as-of; at: the gap's start plus
--        update_days. A gap still open at as-of is judged once it is longer than the limit.
WITH completion AS (
  SELECT order_id,
         CASE WHEN COUNT(*) = COUNT(done_at) THEN MAX(done_at) END AS complete_at
  FROM order_sku_done GROUP BY order_id
),
bounds AS (
  SELECT o.order_id, o.signed_at,
         CASE WHEN o.status = 'cancelled' THEN COALESCE(o.cancelled_at, o.signed_at) END AS cancel_at,
         c.complete_at
  FROM orders o LEFT JOIN completion c ON c.order_id = o.order_id
),
intervals AS (
  SELECT order_id, signed_at,
         CASE WHEN complete_at IS NOT NULL AND (cancel_at IS NULL OR complete_at <= cancel_at) THEN complete_at
              WHEN cancel_at IS NOT NULL THEN cancel_at
              ELSE {as_of} END AS end_at,
         CASE WHEN complete_at IS NULL AND cancel_at IS NULL THEN 1 ELSE 0 END AS still_open
  FROM bounds
),
points AS (
  SELECT order_id, signed_at AS point_at, 0 AS is_end, '' AS tie FROM intervals
  UNION ALL
  SELECT e.order_id, e.occurred_at AS point_at, 0 AS is_end, e.event_id AS tie
  FROM order_events e JOIN intervals i ON i.order_id = e.order_id
  WHERE e.activity = 'progress_update_sent' AND e.occurred_at > i.signed_at AND e.occurred_at < i.end_at
  UNION ALL
  SELECT order_id, end_at AS point_at, 1 AS is_end, '' AS tie FROM intervals
),
-- Each point's predecessor is the latest earlier point (ties broken by is_end, then the
-- event id): the LAG over (point_at, is_end) written as a self-join, which polars runs
-- several times faster than its ordered window; tests/it/props.rs checks they agree.
gaps AS (
  SELECT p.order_id, p.point_at AS gap_end, p.is_end, MAX(q.point_at) AS gap_start
  FROM points p JOIN points q ON q.order_id = p.order_id
  WHERE q.point_at < p.point_at
     OR (q.point_at = p.point_at AND q.is_end < p.is_end)
     OR (q.point_at = p.point_at AND q.is_end = p.is_end AND q.tie < p.tie)
  GROUP BY p.order_id, p.point_at, p.is_end, p.tie
),
checked AS (
  SELECT 'cs' AS department,
         CAST(NULL AS STRING) AS staff_id,
         g.order_id,
         CAST(NULL AS STRING) AS entity_id,
         g.gap_start + INTERVAL '{update_days}' DAY AS at,
         CASE WHEN g.gap_end > g.gap_start + INTERVAL '{update_days}' DAY THEN 1 ELSE 0 END AS violated,
         'no progress update from ' || CAST(g.gap_start AS STRING) || ' to '
           || CASE WHEN i.still_open = 1 AND g.is_end = 1 THEN 'as-of ' ELSE '' END
           || CAST(g.gap_end AS STRING) AS evidence
  FROM gaps g JOIN intervals i ON i.order_id = g.order_id
  WHERE g.gap_start IS NOT NULL
    AND NOT (i.still_open = 1 AND g.is_end = 1 AND g.gap_start + INTERVAL '{update_days}' DAY >= {as_of})
)
SELECT * FROM checked WHERE violated = 1
