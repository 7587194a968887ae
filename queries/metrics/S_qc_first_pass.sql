-- id: S_qc_first_pass
-- clause: C4.1.2, C4.2.2, C4.2.3
-- department: qc
-- scopes: company, production, qc
-- codes: S_qc_first_pass
-- description_zh: 一次檢驗合格率：未返工且最終檢驗合格的生產任務佔比
-- description_en: QC first-pass yield: share of production jobs passing final inspection with no rework
-- policy:
-- grain: one item per production job with a qc_at, in the month of qc_at (an empty
--        rework_count counts as 0). QC's items carry the inspector.
WITH judged AS (
  SELECT job_id, inspector_id,
         EXTRACT(YEAR FROM qc_at) AS period_year,
         EXTRACT(MONTH FROM qc_at) AS period_month,
         CASE WHEN COALESCE(rework_count, 0) = 0 AND qc_result = 'pass' THEN 1.0 ELSE 0.0 END AS num
  FROM production_jobs
  WHERE qc_at IS NOT NULL
)
SELECT 'S_qc_first_pass' AS kpi, job_id AS item_id, CAST(NULL AS STRING) AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT 'S_qc_first_pass' AS kpi, job_id AS item_id, 'production' AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
UNION ALL
SELECT 'S_qc_first_pass' AS kpi, job_id AS item_id, 'qc' AS department,
       inspector_id AS staff_id, period_year, period_month, num, 1.0 AS den
FROM judged
