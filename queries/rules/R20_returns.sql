-- id: R20
-- clause: C8.2.2
-- department: warehouse / finance
-- severity: major
-- description_zh: 退貨未在時限內入庫（倉儲），或未在時限內與財務對賬（財務）
-- description_en: Return not back in stock within the limit (warehouse) or not reconciled with finance within the limit (finance)
-- policy: return_days, reconcile_days, as_of
-- needs: service_cases.returned_to_stock_at, service_cases.finance_reconciled_at
-- grain: one row per return case and failed check (entity: the case), both measured
--        from opened_at: restock (warehouse) and reconciliation (finance), each at its
--        deadline, judged once done or the deadline passed.
WITH returns AS (
  SELECT case_id, order_id, returned_to_stock_at, finance_reconciled_at,
         opened_at + INTERVAL '{return_days}' DAY AS stock_deadline,
         opened_at + INTERVAL '{reconcile_days}' DAY AS finance_deadline
  FROM service_cases WHERE kind = 'return'
),
checked AS (
  SELECT 'warehouse' AS department, CAST(NULL AS STRING) AS staff_id, order_id, case_id AS entity_id,
         stock_deadline AS at,
         CASE WHEN returned_to_stock_at IS NULL OR returned_to_stock_at > stock_deadline THEN 1 ELSE 0 END AS violated,
         'back in stock ' || COALESCE(CAST(returned_to_stock_at AS STRING), 'not yet')
           || ', deadline ' || CAST(stock_deadline AS STRING) AS evidence
  FROM returns
  WHERE returned_to_stock_at IS NOT NULL OR stock_deadline < {as_of}
  UNION ALL
  SELECT 'finance' AS department, CAST(NULL AS STRING) AS staff_id, order_id, case_id AS entity_id,
         finance_deadline AS at,
         CASE WHEN finance_reconciled_at IS NULL OR finance_reconciled_at > finance_deadline THEN 1 ELSE 0 END AS violated,
         'reconciled ' || COALESCE(CAST(finance_reconciled_at AS STRING), 'not yet')
           || ', deadline ' || CAST(finance_deadline AS STRING) AS evidence
  FROM returns
  WHERE finance_reconciled_at IS NOT NULL OR finance_deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
