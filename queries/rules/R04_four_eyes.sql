-- id: R04
-- clause: C2.2.1
-- department: cs
-- severity: major
-- description_zh: 四眼原則：客服審核由該訂單的銷售代表本人完成，或審核人當日不在客服部門
-- description_en: Four eyes: cs_reviewed by the order's own sales rep, or by someone not in CS that day
-- policy:
-- needs: order_events.actor_id
-- grain: one item per cs_reviewed event with an actor, at the event; names the reviewer.
--        "In cs that day": a staff row of department cs whose validity covers the date.
WITH reviews AS (
  SELECT e.event_id, e.order_id, e.actor_id, e.occurred_at, o.sales_rep_id
  FROM order_events e JOIN orders o ON o.order_id = e.order_id
  WHERE e.activity = 'cs_reviewed' AND e.actor_id IS NOT NULL
),
in_cs AS (
  SELECT DISTINCT r.event_id
  FROM reviews r JOIN staff st ON st.staff_id = r.actor_id
  WHERE st.department = 'cs'
    AND (st.valid_from IS NULL OR st.valid_from <= CAST(r.occurred_at AS DATE))
    AND (st.valid_to IS NULL OR CAST(r.occurred_at AS DATE) <= st.valid_to)
),
checked AS (
  SELECT 'cs' AS department,
         r.actor_id AS staff_id,
         r.order_id,
         r.event_id AS entity_id,
         r.occurred_at AS at,
         CASE WHEN r.actor_id = r.sales_rep_id OR c.event_id IS NULL THEN 1 ELSE 0 END AS violated,
         CASE WHEN r.actor_id = r.sales_rep_id THEN 'reviewed by the order''s own sales rep ' || r.actor_id
              ELSE 'reviewer ' || r.actor_id || ' not in cs on ' || CAST(CAST(r.occurred_at AS DATE) AS STRING) END AS evidence
  FROM reviews r LEFT JOIN in_cs c ON c.event_id = r.event_id
)
SELECT * FROM checked WHERE violated = 1
