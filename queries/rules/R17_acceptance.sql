-- id: R17
-- clause: C7.1.2
-- department: logistics
-- severity: minor
-- description_zh: 簽收後未在時限內簽署驗收單
-- description_en: Delivered but no acceptance signed within the limit
-- policy: acceptance_days, as_of
-- needs: shipments.delivered_at, shipments.acceptance_signed_at
-- grain: one item per delivered shipment (entity: the shipment), at delivered_at +
--        acceptance_days, attributed to its handled_by; judged once signed or the deadline
--        passed.
WITH delivered AS (
  SELECT shipment_id, order_id, handled_by, delivered_at, acceptance_signed_at,
         delivered_at + INTERVAL '{acceptance_days}' DAY AS deadline
  FROM shipments WHERE delivered_at IS NOT NULL
),
checked AS (
  SELECT 'logistics' AS department, handled_by AS staff_id, order_id, shipment_id AS entity_id,
         deadline AS at,
         CASE WHEN acceptance_signed_at IS NULL OR acceptance_signed_at > deadline THEN 1 ELSE 0 END AS violated,
         'delivered ' || CAST(delivered_at AS STRING) || ', acceptance signed '
           || COALESCE(CAST(acceptance_signed_at AS STRING), 'never') AS evidence
  FROM delivered
  WHERE acceptance_signed_at IS NOT NULL OR deadline < {as_of}
)
SELECT * FROM checked WHERE violated = 1
