#!/usr/bin/env bash
# Ingest throughput of a ~1M-row orders CSV: `lvyue ingest` (release build) beside
# DuckDB's CSV → Parquet copy of the same file, on the same machine in the same run.
# Each is run 3 times; the median wall time is reported with MB/s, rows/s and the
# ratio lvyue/DuckDB (throughput), plus peak RSS from /usr/bin/time -v.
#
#   bash benches/ingest_vs_duckdb.sh [ROWS]       (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="${BENCH_DIR:-/tmp/lvyue-bench}"
mkdir -p "$work"
bin="${LVYUE_BIN:-${CARGO_TARGET_DIR:-target}/release/lvyue}"
[ -x "$bin" ] || cargo build --release --locked
csv="$work/orders_${rows}.csv"
if [ ! -f "$csv" ]; then
  python3 - "$csv" "$rows" <<'PY'
import sys, random, datetime as dt
path, n = sys.argv[1], int(sys.argv[2])
r = random.Random(42)
t0 = dt.datetime(2025, 1, 1)
with open(path, "w", encoding="utf-8") as f:
    f.write("order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,sales_rep_id,"
            "channel,delivery_place,promised_date,amount,currency,needs_production,status,cancelled_at\n")
    for i in range(n):
        s = t0 + dt.timedelta(seconds=r.randrange(365 * 86400))
        e = s + dt.timedelta(minutes=r.randrange(60 * 30))
        p = (s + dt.timedelta(days=r.randrange(3, 15))).date()
        f.write(f"SO{i:08d},{s:%Y-%m-%d %H:%M:%S},{e:%Y-%m-%d %H:%M:%S},C{r.randrange(200000):06d},"
                f"客户{r.randrange(100000)},138{r.randrange(10**8):08d},S{r.randrange(300):03d},"
                f"{r.choice(['天猫','京东','抖音'])},上海市浦东新区{r.randrange(1000)}号,{p},"
                f"{r.randrange(100, 500000) / 100:.2f},CNY,{r.choice(['true','false'])},active,\n")
PY
fi
bytes=$(stat -c %s "$csv")
median() { sort -n | sed -n 2p; }
run_timed() { # label, command...; prints "wall_s rss_kb"
  /usr/bin/time -v "$@" > /dev/null 2> "$work/time.txt"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
  echo "$wall $rss"
}
lv=(); dk=(); lvr=0; dkr=0
for i in 1 2 3; do
  rm -rf "$work/lake"
  read -r w r < <(run_timed "$bin" ingest "$csv" --lake "$work/lake"); lv+=("$w"); lvr=$r
  rm -f "$work/duck.parquet"
  read -r w r < <(run_timed python3 -c "import duckdb,sys; duckdb.sql(\"COPY (SELECT * FROM read_csv('$csv')) TO '$work/duck.parquet' (FORMAT parquet)\")"); dk+=("$w"); dkr=$r
done
lvm=$(printf '%s\n' "${lv[@]}" | median); dkm=$(printf '%s\n' "${dk[@]}" | median)
python3 - "$rows" "$bytes" "$lvm" "$dkm" "$lvr" "$dkr" "${lv[*]}" "${dk[*]}" <<'PY'
import sys
rows, b, lv, dk, lvr, dkr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
mb = b / 1e6
print(f"orders CSV: {rows:,} rows, {mb:.1f} MB")
print(f"{'':8} {'median s':>9} {'MB/s':>8} {'rows/s':>11} {'peak RSS MB':>12}   runs")
print(f"{'lvyue':8} {lv:9.2f} {mb/lv:8.1f} {rows/lv:11,.0f} {lvr/1024:12.0f}   {sys.argv[7]}")
print(f"{'duckdb':8} {dk:9.2f} {mb/dk:8.1f} {rows/dk:11,.0f} {dkr/1024:12.0f}   {sys.argv[8]}")
print(f"lvyue/DuckDB throughput ratio: {dk/lv:.2f}")
PY
