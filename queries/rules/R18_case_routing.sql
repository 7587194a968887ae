-- id: R18
-- clause: C7.2.1
-- department: cs
-- severity: minor
-- description_zh: 客訴轉交部門錯誤（質量問題轉質控、運輸問題轉物流），或轉交超過時限
-- description_en: Service case routed to the wrong department (quality to qc, logistics to logistics) or later than the limit
-- policy: route_hours, as_of
-- needs: service_cases.category, service_cases.routed_to, service_cases.routed_at
-- clock: with sla.clock = "business" every deadline on an *_hours limit is computed by the Rust function business_add (src/metrics/clock.rs)
-- grain: one row per case and failed check (entity: the case), attributed to the agent
--        who recorded it: (a) routed within the limit, at the deadline, judged once routed
--        or the deadline passed; (b) routed to the right department, at routed_at. A
--        missing routing fails (a) only.
WITH cases AS (
  SELECT case_id, order_id, recorded_by, category, routed_to, routed_at,
         opened_at + INTERVAL '{route_hours}' HOUR AS deadline
  FROM service_cases
),
checked AS (
  SELECT 'cs' AS department, recorded_by AS staff_id, order_id, case_id AS entity_id,
         deadline AS at,
         CASE WHEN routed_at IS NULL OR routed_at > deadline THEN 1 ELSE 0 END AS violated,
         'routing deadline ' || CAST(deadline AS STRING) || ', routed '
           || COALESCE(CAST(routed_at AS STRING), 'never') AS evidence
  FROM cases
  WHERE routed_at IS NOT NULL OR deadline < {as_of}
  UNION ALL
  SELECT 'cs' AS department, recorded_by AS staff_id, order_id, case_id AS entity_id,
         routed_at AS at,
         CASE WHEN (category = 'quality' AND routed_to <> 'qc')
                OR (category = 'logistics' AND routed_to <> 'logistics') THEN 1 ELSE 0 END AS violated,
         category || ' problem routed to ' || COALESCE(routed_to, '-') AS evidence
  FROM cases
  WHERE routed_at IS NOT NULL
)
SELECT * FROM checked WHERE violated = 1
