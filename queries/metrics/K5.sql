-- id: K5
-- clause: C9.1.1
-- department: company
-- scopes: company
-- codes: K5, K5_amount, K5_cancelled, K5_amount_cancelled
-- description_zh: 訂單數量與金額（按簽訂月份；取消訂單另計）
-- description_en: Order count and amount by signing month; cancelled orders counted apart
-- policy:
-- grain: one item per order in the month of signed_at. Codes: K5 and K5_amount (active
--        orders), K5_cancelled and K5_amount_cancelled. Volumes: no denominator, no interval.
WITH o AS (
  SELECT order_id, status, CAST(amount AS DOUBLE) AS amount,
         EXTRACT(YEAR FROM signed_at) AS period_year,
         EXTRACT(MONTH FROM signed_at) AS period_month
  FROM orders
)
SELECT CASE WHEN status = 'cancelled' THEN 'K5_cancelled' ELSE 'K5' END AS kpi,
       order_id AS item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, 1.0 AS num, CAST(NULL AS DOUBLE) AS den
FROM o
UNION ALL
SELECT CASE WHEN status = 'cancelled' THEN 'K5_amount_cancelled' ELSE 'K5_amount' END AS kpi,
       order_id AS item_id, CAST(NULL AS STRING) AS department, CAST(NULL AS STRING) AS staff_id,
       period_year, period_month, amount AS num, CAST(NULL AS DOUBLE) AS den
FROM o
