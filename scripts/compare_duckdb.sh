#!/usr/bin/env bash
# Compares the answers (and timings) of `tessera query` with DuckDB's on TPC-H lineitem:
# generates lineitem as Parquet, loads it into a fresh database, writes a generated workload
# and runs the comparison script that lives beside the repository (../shared/peer).
#   bash scripts/compare_duckdb.sh [SCALE] [STATEMENTS] [WORK_DIR]
# Defaults: scale factor 1, 300 statements, ~/.cache/tessera-compare. PROFILE=debug builds
# without optimizations (for small scales); COMPARE_SCRIPT overrides the script's path.
set -euo pipefail
cd "$(dirname "$0")/.."

scale="${1:-1}"
statements="${2:-300}"
work="${3:-$HOME/.cache/tessera-compare}"
profile="${PROFILE:-release}"
compare="${COMPARE_SCRIPT:-../shared/peer/duckdb_compare.py}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"

if [ "$profile" = release ]; then
  cargo build --release -p tessera-cli
else
  cargo build -p tessera-cli
fi
bin="$CARGO_TARGET_DIR/$profile/tessera"

python3 -c "import duckdb, pyarrow" 2>/dev/null || python3 -m pip install --quiet duckdb pyarrow

mkdir -p "$work"
data="$work/lineitem-$scale.parquet"
db="$work/db-$scale"
queries="$work/queries-$scale-$statements.sql"
[ -f "$data" ] || "$bin" generate --scale "$scale" --output "$data"
rm -rf "$db"
"$bin" load --db "$db" --table lineitem --input "$data" --primary-key l_orderkey,l_linenumber
"$bin" workload --table lineitem --scale "$scale" --statements "$statements" --seed 1 --output "$queries"
python3 "$compare" --tessera "$bin" --db "$db" --table lineitem --parquet "$data" \
  --queries "$queries" --repeat "${REPEAT:-3}"
