-- id: K4
-- clause: C10.2.1, C3.1
-- department: warehouse
-- scopes: company, warehouse
-- codes: K4, K4_value
-- description_zh: 庫存準確率：盤點數與賬面數在容差內的盤點佔比（另報按金額加權）
-- description_en: Inventory accuracy: share of counts within tolerance of the book quantity (also value-weighted)
-- policy: abs_tolerance, pct_tolerance
-- grain: one item per count, in the month of counted_at; warehouse's items carry the counter.
--        K4_value: numerator Σ(system − |diff|)·unit_cost, denominator Σ system·unit_cost,
--        over counts with a unit_cost. Company figure and warehouse's are the same items.
WITH counts AS (
  SELECT count_id, counter_id,
         EXTRACT(YEAR FROM counted_at) AS period_year,
         EXTRACT(MONTH FROM counted_at) AS period_month,
         system_quantity, ABS(counted_quantity - system_quantity) AS diff,
         CAST(unit_cost AS DOUBLE) AS cost
  FROM inventory_counts
),
items AS (
  SELECT 'K4' AS kpi, count_id, counter_id, period_year, period_month,
         CASE WHEN diff <= {abs_tolerance} OR diff <= {pct_tolerance} * system_quantity
              THEN 1.0 ELSE 0.0 END AS num,
         1.0 AS den
  FROM counts
  UNION ALL
  SELECT 'K4_value' AS kpi, count_id, counter_id, period_year, period_month,
         (system_quantity - diff) * cost AS num,
         system_quantity * cost AS den
  FROM counts
  WHERE cost IS NOT NULL
)
SELECT kpi, count_id AS item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, num, den
FROM items
UNION ALL
SELECT kpi, count_id AS item_id, 'warehouse' AS department, counter_id AS staff_id,
       period_year, period_month, num, den
FROM items
