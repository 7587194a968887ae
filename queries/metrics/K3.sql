-- id: K3
-- clause: C9.1.1, C10.2.1
-- department: cs
-- scopes: company, cs
-- codes: K3, K3_mean
-- description_zh: 客戶滿意度：評分達到滿意線的問卷佔比（另報平均分）
-- description_en: Customer satisfaction: share of survey scores at or above the satisfied mark (also the mean score)
-- policy: satisfied_min, satisfaction_by_touch
-- grain: one item per survey, in the month of responded_at. Codes: K3 (CSAT share),
--        K3_mean (numerator = sum of scores, denominator = responses). CS's figure counts
--        only surveys of orders a cs member touched (an order event or a service case
--        recorded while in cs) when satisfaction_by_touch is true.
WITH touched AS (
  SELECT e.order_id FROM order_events e
  JOIN staff st ON st.staff_id = e.actor_id
  WHERE st.department = 'cs'
    AND (st.valid_from IS NULL OR st.valid_from <= CAST(e.occurred_at AS DATE))
    AND (st.valid_to IS NULL OR CAST(e.occurred_at AS DATE) <= st.valid_to)
  UNION
  SELECT c.order_id FROM service_cases c
  JOIN staff st ON st.staff_id = c.recorded_by
  WHERE st.department = 'cs'
    AND (st.valid_from IS NULL OR st.valid_from <= CAST(c.opened_at AS DATE))
    AND (st.valid_to IS NULL OR CAST(c.opened_at AS DATE) <= st.valid_to)
),
touched_orders AS (
  SELECT DISTINCT order_id FROM touched
),
surveyed AS (
  SELECT s.survey_id, s.order_id, s.score,
         EXTRACT(YEAR FROM s.responded_at) AS period_year,
         EXTRACT(MONTH FROM s.responded_at) AS period_month,
         CASE WHEN t.order_id IS NOT NULL THEN 1 ELSE 0 END AS by_cs
  FROM surveys s LEFT JOIN touched_orders t ON t.order_id = s.order_id
),
scored AS (
  SELECT 'K3' AS kpi, survey_id, by_cs, period_year, period_month,
         CASE WHEN score >= {satisfied_min} THEN 1.0 ELSE 0.0 END AS num
  FROM surveyed
  UNION ALL
  SELECT 'K3_mean' AS kpi, survey_id, by_cs, period_year, period_month,
         CAST(score AS DOUBLE) AS num
  FROM surveyed
)
SELECT kpi, survey_id AS item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM scored
UNION ALL
SELECT kpi, survey_id AS item_id, 'cs' AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, 1.0 AS den
FROM scored
WHERE by_cs = 1 OR NOT {satisfaction_by_touch}
