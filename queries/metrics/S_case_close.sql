-- id: S_case_close
-- clause: C7.2.2, C8.1.3
-- department: cs
-- scopes: company, cs
-- codes: S_case_close
-- description_zh: 客訴及售後結案及時率：受理後在時限內結案的工單佔比
-- description_en: Service cases closed within the limit after opening
-- policy: case_close_days, as_of
-- grain: one item per service case, in the month of opened_at, attributed to the agent
--        who recorded it; open cases enter once the deadline has passed, as late.
WITH judged AS (
  SELECT case_id, recorded_by,
         EXTRACT(YEAR FROM opened_at) AS period_year,
         EXTRACT(MONTH FROM opened_at) AS period_month,
         CASE WHEN closed_at <= opened_at + INTERVAL '{case_close_days}' DAY THEN 1.0 ELSE 0.0 END AS num
  FROM service_cases
  WHERE closed_at IS NOT NULL OR opened_at + INTERVAL '{case_close_days}' DAY < {as_of}
)
SELECT 'S_case_close' AS kpi, case_id AS item_id, CAST(NULL AS STRING) AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT 'S_case_close' AS kpi, case_id AS item_id, 'cs' AS department,
       recorded_by AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
