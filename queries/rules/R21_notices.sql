-- id: R21
-- clause: C10.1.3
-- department: notified dept
-- severity: major
-- description_zh: 整改通知逾期未回覆，或整改後同一部門再次違反同一規則
-- description_en: Rectification notice not answered by its deadline, or the same rule broken again by the same department after it was rectified
-- policy:
-- rust: the table notice_checks is computed by src/rules/notices.rs (the notice ledger and the re-check of every notice at as-of); this file only selects from it
-- grain: one item per notice re-checked at as-of (entity: the notice id) in the notified
--        department: overdue (no response by the deadline; at: the deadline) or recurred
--        (rectified, then the rule broken again; at: that violation). Open notices are not
--        judged yet.
WITH checked AS (
  SELECT department,
         CAST(NULL AS STRING) AS staff_id,
         CAST(NULL AS STRING) AS order_id,
         notice_id AS entity_id,
         at,
         violated,
         evidence
  FROM notice_checks
)
SELECT * FROM checked WHERE violated = 1
