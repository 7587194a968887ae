#!/usr/bin/env python3
"""Benchmark exports: N orders over 2025 in the data contract's shape, with the steps
the KPI queries read (sales, cs and warehouse steps, shipments with deliveries and
tracking relays, surveys, monthly counts, some shortages with POs, made-to-order jobs
and service cases). Deterministic for a seed. Not the realistic generator of issue 6 —
a load for measuring `lvyue ingest` and `lvyue metrics` beside DuckDB.

    python3 benches/gen_exports.py ORDERS OUTDIR [SEED]
"""

import datetime as dt
import os
import random
import sys

n = int(sys.argv[1])
out = sys.argv[2]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
r = random.Random(seed)
os.makedirs(out, exist_ok=True)
t0 = dt.datetime(2025, 1, 1)
H = dt.timedelta(hours=1)


def f(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


files = {
    name: open(os.path.join(out, f"{name}.csv"), "w", encoding="utf-8", buffering=1 << 20)
    for name in ["orders", "order_lines", "order_events", "shipments", "shipment_lines",
                 "surveys", "purchase_orders", "production_jobs", "service_cases"]
}
files["orders"].write("order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,sales_rep_id,delivery_place,promised_date,amount,needs_production,status,cancelled_at\n")
files["order_lines"].write("order_id,line_no,sku,product_name,spec,quantity,unit_price\n")
files["order_events"].write("event_id,order_id,activity,occurred_at,actor_id,sku,quantity,new_promised_date,reference\n")
files["shipments"].write("shipment_id,order_id,carrier,tracking_no,shipped_at,arrived_at,delivered_at,acceptance_signed_at,acceptance_result,handled_by\n")
files["shipment_lines"].write("shipment_id,sku,quantity,label_order_id,label_product_name,label_spec,label_quantity\n")
files["surveys"].write("survey_id,order_id,responded_at,score\n")
files["purchase_orders"].write("po_id,order_id,sku,quantity,supplier,requested_at,placed_at,due_date,received_at,received_quantity,inspected_at,inspection_result,buyer_id\n")
files["production_jobs"].write("job_id,order_id,sku,quantity,planned_at,planned_finish_date,finished_at,qc_at,qc_result,rework_count,warehoused_at,inspector_id\n")
files["service_cases"].write("case_id,order_id,opened_at,kind,category,recorded_by,routed_to,routed_at,resolved_at,closed_at\n")

reps = [f"S{i:03d}" for i in range(200)]
agents = [f"C{i:03d}" for i in range(100)]
whs = [f"W{i:03d}" for i in range(80)]
lgs = [f"L{i:03d}" for i in range(60)]
with open(os.path.join(out, "staff.csv"), "w", encoding="utf-8") as s:
    s.write("staff_id,name,department\n")
    for ids, d in [(reps, "sales"), (agents, "cs"), (whs, "warehouse"), (lgs, "logistics"),
                   (["P001"], "purchasing"), (["Q001"], "qc"), (["M001"], "production")]:
        for i in ids:
            s.write(f"{i},员工{i},{d}\n")

skus = [f"SKU{i:04d}" for i in range(500)]
for i in range(n):
    oid = f"SO{i:08d}"
    signed = t0 + dt.timedelta(seconds=r.randrange(365 * 86400 - 12 * 86400))
    rep, cs, wh, lg = r.choice(reps), r.choice(agents), r.choice(whs), r.choice(lgs)
    lines = [(r.choice(skus), r.randrange(1, 6)) for _ in range(1 if r.random() < 0.8 else 2)]
    prod = r.random() < 0.03
    short = not prod and r.random() < 0.05
    cancelled = r.random() < 0.02
    promised = (signed + dt.timedelta(days=r.randrange(4, 12))).date()
    amount = sum(q * 35.5 for _, q in lines)
    entered = signed + r.uniform(0.2, 30) * H
    files["orders"].write(
        f"{oid},{f(signed)},{f(entered)},C{r.randrange(300000):06d},客户{i},138{i:08d},{rep},上海市{i % 999}号,"
        f"{promised},{amount:.2f},{'true' if prod else 'false'},{'cancelled' if cancelled else 'active'},"
        f"{f(signed + 5 * H) if cancelled else ''}\n")
    for k, (sku, q) in enumerate(lines, 1):
        files["order_lines"].write(f"{oid},{k},{sku},产品{sku},标准,{q},35.50\n")
    ev = []
    sub = entered + r.uniform(0.1, 10) * H
    conf = sub + r.uniform(0.5, 30) * H
    ev += [("submitted_to_cs", sub, rep, "", ""), ("cs_reviewed", sub + 0.5 * H, cs, "", ""),
           ("customer_confirmed", conf, cs, "", "")]
    if cancelled:
        for k, (a, t, who, sku, q) in enumerate(ev):
            files["order_events"].write(f"{oid}-{k},{oid},{a},{f(t)},{who},{sku},{q},,\n")
        continue
    decided = conf + r.uniform(0.5, 30) * H
    if prod:
        planned = decided
        files["production_jobs"].write(
            f"J{i:08d},{oid},{lines[0][0]},{lines[0][1]},{f(planned)},{(planned + 72 * H).date()},"
            f"{f(planned + 60 * H)},{f(planned + 62 * H)},{'pass' if r.random() < 0.95 else 'fail'},"
            f"{0 if r.random() < 0.9 else 1},{f(planned + 63 * H)},Q001\n")
        ready = planned + 64 * H
    elif short:
        ev += [("stock_short", decided, wh, lines[0][0], lines[0][1]),
               ("replenishment_requested", decided + r.uniform(0.5, 6) * H, wh, "", ""),
               ("shortage_reported_to_cs", decided + r.uniform(0.5, 6) * H, wh, "", "")]
        req = decided + 2 * H
        files["purchase_orders"].write(
            f"PO{i:08d},{oid},{lines[0][0]},{lines[0][1]},供应商{i % 50},{f(req)},{f(req + r.uniform(1, 30) * H)},"
            f"{(req + 96 * H).date()},{f(req + r.uniform(60, 120) * H)},{lines[0][1]},{f(req + 125 * H)},pass,P001\n")
        ready = decided + 130 * H
        ev += [("stock_locked", ready, wh, sku, q) for sku, q in lines]
    else:
        ev += [("stock_locked", decided, wh, sku, q) for sku, q in lines]
        ready = decided
    shipped = ready + r.uniform(2, 20) * H
    sid = f"SH{i:08d}"
    ev += [("preship_checked", shipped - 1 * H, lg, "", ""),
           ("tracking_sent_to_cs", shipped + r.uniform(0.5, 20) * H, lg, "", ""),
           ("tracking_sent_to_customer", shipped + r.uniform(1, 30) * H, cs, "", "")]
    delivered = shipped + r.uniform(24, 120) * H
    files["shipments"].write(
        f"{sid},{oid},顺丰,SF{i:010d},{f(shipped)},{f(delivered - 2 * H)},{f(delivered)},"
        f"{f(delivered + r.uniform(1, 80) * H)},pass,{lg}\n")
    for sku, q in lines:
        files["shipment_lines"].write(f"{sid},{sku},{q},{oid},产品{sku},标准,{q}\n")
    for k, (a, t, who, sku, q) in enumerate(ev):
        files["order_events"].write(f"{oid}-{k},{oid},{a},{f(t)},{who},{sku},{q},,\n")
    if r.random() < 0.2:
        files["surveys"].write(f"V{i:08d},{oid},{f(delivered + 24 * H)},{r.choice([1, 2, 3, 4, 4, 5, 5, 5])}\n")
    if r.random() < 0.02:
        opened = delivered + 30 * H
        files["service_cases"].write(
            f"K{i:08d},{oid},{f(opened)},complaint,quality,{cs},qc,{f(opened + r.uniform(1, 30) * H)},"
            f"{f(opened + 100 * H)},{f(opened + r.uniform(50, 200) * H)}\n")

with open(os.path.join(out, "inventory_counts.csv"), "w", encoding="utf-8") as c:
    c.write("count_id,counted_at,warehouse,location,sku,system_quantity,counted_quantity,unit_cost,counter_id\n")
    k = 0
    for m in range(1, 13):
        for j in range(max(50, n // 200)):
            k += 1
            sysq = r.randrange(10, 500)
            c.write(f"IC{k:08d},2025-{m:02d}-{r.randrange(1, 28):02d} 17:00:00,WH{j % 5},A-{j % 90},"
                    f"{r.choice(skus)},{sysq},{sysq + (0 if r.random() < 0.97 else r.choice([-2, -1, 1]))},"
                    f"{r.randrange(5, 90)}.00,{r.choice(whs)}\n")
for fh in files.values():
    fh.close()
