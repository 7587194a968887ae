-- id: S_complaints_per_100
-- clause: C7.1.1, C9.1.1
-- department: company
-- scopes: company
-- codes: S_complaints_per_100
-- description_zh: 每百單客訴數：當月受理的投訴工單數 ÷ 當月首次交付的訂單數 × 100
-- description_en: Complaints per 100 delivered orders: complaint cases opened in the month per 100 orders first delivered in the month
-- policy:
-- grain: two kinds of item in the month they happen: a complaint case (numerator 1) and
--        an order's first delivery (denominator 1); rate = 100 × numerator / denominator.
WITH first_delivery AS (
  SELECT order_id, MIN(delivered_at) AS first_at FROM shipments
  WHERE delivered_at IS NOT NULL
  GROUP BY order_id
),
items AS (
  SELECT case_id AS item_id,
         EXTRACT(YEAR FROM opened_at) AS period_year,
         EXTRACT(MONTH FROM opened_at) AS period_month,
         1.0 AS num, 0.0 AS den
  FROM service_cases WHERE kind = 'complaint'
  UNION ALL
  SELECT order_id AS item_id,
         EXTRACT(YEAR FROM first_at) AS period_year,
         EXTRACT(MONTH FROM first_at) AS period_month,
         0.0 AS num, 1.0 AS den
  FROM first_delivery
)
SELECT 'S_complaints_per_100' AS kpi, item_id, CAST(NULL AS STRING) AS department,
       CAST(NULL AS STRING) AS staff_id, period_year, period_month, num, den
FROM items
