-- id: R19
-- clause: C7.2.2, C8.1.3
-- department: cs
-- severity: major
-- description_zh: 客訴或售後工單未在時限內結案
-- description_en: Service case not closed within the limit
-- policy: case_close_days, as_of
-- needs: service_cases.closed_at
-- grain: one item per case (entity: the case), at opened_at + case_close_days,
--        attributed to the agent who recorded it; judged once closed or the deadline passed.
WITH cases AS (
  SELECT case_id, order_id, recorded_by, closed_at,
         opened_at + INTERVAL '{case_close_days}' DAY AS deadline
  FROM service_cases
),
checked AS (
  SELECT 'cs' AS department, recorded_by AS staff_id, order_id, case_id AS entity_id,
         deadline AS at,
         CASE WHEN closed_at IS NULL OR closed_at > deadline THEN 1 ELSE 0 END AS violated,
         'closing deadline ' || CAST(deadline AS STRING) || ', closed '
           || COALESCE(CAST(closed_at AS STRING), 'not yet') AS evidence
  FROM cases
  WHERE closed_at IS NOT NULL OR deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
