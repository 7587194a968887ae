-- id: R12
-- clause: C5.1.2
-- department: warehouse
-- severity: minor
-- description_zh: 包裝標簽缺少訂單號、品名、規格或數量，或與訂單不符
-- description_en: Label missing order id, product name, spec or quantity, or not matching the order
-- policy:
-- needs: shipment_lines.label_order_id, shipment_lines.label_product_name, shipment_lines.label_spec, shipment_lines.label_quantity
-- grain: one item per shipment line (entity: the shipment), at shipped_at. The label is
--        compared with the shipment's order id, the order line's product name and spec
--        (for a sku on the order; an unordered sku is R13's business) and the shipment
--        line's quantity.
WITH lines AS (
  SELECT s.shipment_id, s.order_id, s.shipped_at, l.sku, l.quantity,
         l.label_order_id, l.label_product_name, l.label_spec, l.label_quantity
  FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.shipment_id
),
ordered AS (
  SELECT order_id, sku, MIN(product_name) AS product_name, MIN(spec) AS spec
  FROM order_lines GROUP BY order_id, sku
),
judged AS (
  SELECT l.*, o.product_name, o.spec, o.order_id AS on_order,
         CASE WHEN l.label_order_id IS NULL THEN ' order id missing'
              WHEN l.label_order_id <> l.order_id THEN ' order id ' || l.label_order_id ELSE '' END
         || CASE WHEN l.label_product_name IS NULL THEN ' product name missing'
              WHEN o.order_id IS NOT NULL AND l.label_product_name <> o.product_name THEN ' product name ' || l.label_product_name ELSE '' END
         || CASE WHEN l.label_spec IS NULL THEN ' spec missing'
              WHEN o.order_id IS NOT NULL AND o.spec IS NOT NULL AND l.label_spec <> o.spec THEN ' spec ' || l.label_spec ELSE '' END
         || CASE WHEN l.label_quantity IS NULL THEN ' quantity missing'
              WHEN l.label_quantity <> l.quantity THEN ' quantity ' || CAST(l.label_quantity AS STRING) || ' for ' || CAST(l.quantity AS STRING) ELSE '' END
         AS problems
  FROM lines l LEFT JOIN ordered o ON o.order_id = l.order_id AND o.sku = l.sku
),
checked AS (
  SELECT 'warehouse' AS department,
         CAST(NULL AS STRING) AS staff_id,
         order_id,
         shipment_id AS entity_id,
         shipped_at AS at,
         CASE WHEN problems = '' THEN 0 ELSE 1 END AS violated,
         'label of ' || sku || ':' || problems AS evidence
  FROM judged
)
SELECT * FROM checked WHERE violated = 1
