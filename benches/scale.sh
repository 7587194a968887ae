#!/usr/bin/env bash
# Issue 6's benchmark: generate ORDERS orders once (`lvyue gen`, a year from 2025-01),
# then measure, 3 runs each, median wall time and peak RSS (/usr/bin/time -v):
#   ingest   `lvyue ingest` of the CSV exports   vs DuckDB copying the same CSVs to Parquet
#   metrics  `lvyue metrics` for one month and the year
#            vs DuckDB running the same queries/ SQL (--emit-sql) over the same lake
#   audit    `lvyue audit` for one month and the year, likewise with the rule SQL
# and prints a table with the ratio lvyue/DuckDB (time; for ingest, throughput).
# Not a test: run it by hand on a quiet machine.
#
#   bash benches/scale.sh [ORDERS] [RUNS]        (default 1000000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
orders="${1:-1000000}"
runs="${2:-3}"
work="${BENCH_DIR:-/tmp/lvyue-bench}/scale-${orders}"
bin="${LVYUE_BIN:-${CARGO_TARGET_DIR:-target}/release/lvyue}"
[ -x "$bin" ] || cargo build --release --locked
mkdir -p "$work"
results="$work/results.tsv"
: > "$results"

measure() { # label engine cmd… → appends "label engine wall rss" to results
  local label="$1" engine="$2"; shift 2
  /usr/bin/time -v "$@" > "$work/last.out" 2> "$work/time.txt"
  python3 - "$work/time.txt" "$label" "$engine" >> "$results" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{wall:.2f}\t{rss:.0f}")
PY
}

if [ ! -f "$work/exports/orders.csv" ]; then
  measure gen lvyue "$bin" gen --orders "$orders" --start 2025-01 --months 12 --seed 7 --dirty 0.05 --out "$work/exports"
  cat "$work/last.out"
fi
bytes=$(du -sbL "$work/exports" | cut -f1)

cat > "$work/duck_copy.py" <<'PY'
import duckdb, glob, os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
con = duckdb.connect()
for f in sorted(glob.glob(os.path.join(src, "*.csv"))):
    name = os.path.basename(f)[:-4]
    con.execute(f"COPY (SELECT * FROM read_csv('{f}', header=true, all_varchar=false)) TO '{dst}/{name}.parquet' (FORMAT parquet)")
PY
cat > "$work/duck_sql.py" <<'PY'
import duckdb, glob, os, sys
d = sys.argv[1]
con = duckdb.connect()
con.execute(open(os.path.join(d, "00_views.duckdb.sql")).read())
for f in sorted(glob.glob(os.path.join(d, "*.sql"))):
    if not f.endswith("00_views.duckdb.sql"):
        con.execute(f"CREATE TABLE t_{os.path.basename(f)[:-4]} AS {open(f).read()}")
PY

for i in $(seq "$runs"); do
  rm -rf "$work/lake-$i"
  measure ingest lvyue "$bin" ingest "$work/exports" --lake "$work/lake-$i"
  rm -rf "$work/duck-parquet"
  measure ingest duckdb python3 "$work/duck_copy.py" "$work/exports" "$work/duck-parquet"
done
lake="$work/lake-1"
for i in $(seq 2 "$runs"); do rm -rf "$work/lake-$i"; done
for period in 2025-06 2025; do
  for cmd in metrics audit; do
    "$bin" "$cmd" --lake "$lake" --period "$period" --out "$work/out" --emit-sql "$work/sql-$cmd-$period" --sql-only > /dev/null
    for i in $(seq "$runs"); do
      measure "$cmd $period" lvyue "$bin" "$cmd" --lake "$lake" --period "$period" --out "$work/out"
      measure "$cmd $period" duckdb python3 "$work/duck_sql.py" "$work/sql-$cmd-$period"
    done
  done
done

python3 - "$results" "$orders" "$bytes" <<'PY'
import sys, statistics as st
from collections import defaultdict
rows = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    label, engine, wall, rss = line.rstrip("\n").split("\t")
    rows[label][engine].append((float(wall), float(rss)))
n, mb = int(sys.argv[2]), int(sys.argv[3]) / 1e6
print(f"{n:,} orders, exports {mb:,.0f} MB; median of runs, peak RSS the largest")
print(f"| step | lvyue s | lvyue RSS MB | DuckDB s | DuckDB RSS MB | lvyue/DuckDB |")
print(f"|---|---|---|---|---|---|")
for label, e in rows.items():
    lv = st.median(w for w, _ in e["lvyue"]); lr = max(r for _, r in e["lvyue"])
    if "duckdb" in e:
        dk = st.median(w for w, _ in e["duckdb"]); dr = max(r for _, r in e["duckdb"])
        # Ingest compares throughput (DuckDB time / lvyue time); the rest, time.
        ratio = dk / lv if label == "ingest" else lv / dk
        kind = "throughput" if label == "ingest" else "time"
        print(f"| {label} | {lv:.2f} | {lr:.0f} | {dk:.2f} | {dr:.0f} | {ratio:.2f} ({kind}) |")
    else:
        print(f"| {label} | {lv:.2f} | {lr:.0f} | | | |")
year = {l: st.median(w for w, _ in rows[l]["lvyue"]) for l in rows if l.startswith("audit")}
if "audit 2025" in year and "audit 2025-06" in year:
    print(f"monthly audit / year audit: {year['audit 2025-06'] / year['audit 2025']:.0%}")
PY
