#!/usr/bin/env bash
# `lvyue metrics --period 2025` on a lake of ORDERS generated orders, beside DuckDB
# running the same queries/ SQL (as emitted by --emit-sql: the lake's as-of views and
# every rendered query, each materialised) over the same Parquet files. Three runs each;
# median wall time and peak RSS (/usr/bin/time -v); ratio lvyue/DuckDB.
#
#   bash benches/metrics_vs_duckdb.sh [ORDERS]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
orders="${1:-1000000}"
work="${BENCH_DIR:-/tmp/lvyue-bench}/m${orders}"
bin="${LVYUE_BIN:-${CARGO_TARGET_DIR:-target}/release/lvyue}"
[ -x "$bin" ] || cargo build --release --locked
mkdir -p "$work"
if [ ! -f "$work/exports/orders.csv" ]; then
  echo "generating $orders orders…"
  python3 benches/gen_exports.py "$orders" "$work/exports"
fi
if [ ! -f "$work/lake/_manifest.json" ]; then
  /usr/bin/time -v "$bin" ingest "$work/exports" --lake "$work/lake" > "$work/ingest.txt" 2> "$work/ingest.time"
  grep -E "Elapsed|Maximum resident" "$work/ingest.time" | sed 's/^\s*/ingest: /'
fi
measure() { # prints "wall_s rss_mb"
  /usr/bin/time -v "$@" > /dev/null 2> "$work/time.txt"
  python3 - "$work/time.txt" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print(f"{wall:.2f} {rss:.0f}")
PY
}
cat > "$work/duck.py" <<'PY'
import duckdb, glob, os, sys
d = sys.argv[1]
con = duckdb.connect()
con.execute(open(os.path.join(d, "00_views.duckdb.sql")).read())
for f in sorted(glob.glob(os.path.join(d, "*.sql"))):
    if not f.endswith("00_views.duckdb.sql"):
        name = os.path.basename(f)[:-4]
        con.execute(f"CREATE TABLE t_{name} AS {open(f).read()}")
PY
lv=(); dk=(); lvr=(); dkr=()
for i in 1 2 3; do
  read -r w m < <(measure "$bin" metrics --lake "$work/lake" --period 2025 --out "$work/out" --emit-sql "$work/sql"); lv+=("$w"); lvr+=("$m")
  read -r w m < <(measure python3 "$work/duck.py" "$work/sql"); dk+=("$w"); dkr+=("$m")
done
python3 - "$orders" "${lv[*]}" "${dk[*]}" "${lvr[*]}" "${dkr[*]}" <<'PY'
import sys, statistics as st
n = int(sys.argv[1]); lv, dk, lvr, dkr = ([float(x) for x in a.split()] for a in sys.argv[2:6])
print(f"metrics --period 2025 on {n:,} orders (3 runs each)")
print(f"{'':8} {'median s':>9} {'peak RSS MB':>12}   runs")
print(f"{'lvyue':8} {st.median(lv):9.2f} {max(lvr):12.0f}   {lv}")
print(f"{'duckdb':8} {st.median(dk):9.2f} {max(dkr):12.0f}   {dk}")
print(f"lvyue/DuckDB time ratio: {st.median(lv) / st.median(dk):.2f}")
PY
