-- id: R11
-- clause: C4.2.2
-- department: qc
-- severity: critical
-- description_zh: 生產任務未經檢驗合格即入庫（或其訂單已發貨）
-- description_en: Production job warehoused (or its order shipped) without a QC pass before it
-- policy:
-- needs: production_jobs.qc_at, production_jobs.qc_result, production_jobs.warehoused_at
-- grain: one item per job that was warehoused or whose order shipped its sku (entity:
--        the job), at the first such act, attributed to the inspector. qc_result is the
--        final result; a pass at the same instant as the act counts as before it.
WITH first_ship AS (
  SELECT j.job_id, MIN(s.shipped_at) AS shipped_at
  FROM production_jobs j
  JOIN shipments s ON s.order_id = j.order_id
  JOIN shipment_lines l ON l.shipment_id = s.shipment_id AND l.sku = j.sku
  GROUP BY j.job_id
),
acts AS (
  SELECT j.job_id, j.order_id, j.inspector_id, j.qc_at, j.qc_result, j.warehoused_at, f.shipped_at,
         CASE WHEN j.warehoused_at IS NOT NULL AND (f.shipped_at IS NULL OR j.warehoused_at <= f.shipped_at)
              THEN j.warehoused_at ELSE f.shipped_at END AS first_act
  FROM production_jobs j LEFT JOIN first_ship f ON f.job_id = j.job_id
),
checked AS (
  SELECT 'qc' AS department,
         inspector_id AS staff_id,
         order_id,
         job_id AS entity_id,
         first_act AS at,
         CASE WHEN qc_result = 'pass' AND qc_at IS NOT NULL AND qc_at <= first_act THEN 0 ELSE 1 END AS violated,
         'warehoused ' || COALESCE(CAST(warehoused_at AS STRING), '-') || ', first shipped '
           || COALESCE(CAST(shipped_at AS STRING), '-') || ', QC ' || COALESCE(qc_result, 'none')
           || ' at ' || COALESCE(CAST(qc_at AS STRING), '-') AS evidence
  FROM acts
  WHERE first_act IS NOT NULL
)
SELECT * FROM checked WHERE violated = 1
