#!/usr/bin/env bash
# Peer comparison (issue #7): the same inputs through spotmeta, R metafor and
# Python PyMARE, timed in one run; prints microseconds per fit and the ratios
# (peer / spotmeta). Peers that are not installed are skipped; CI never runs
# this. Needs: cargo; optionally Rscript with metafor, python3 with pymare.
#
#   bash benches/peers/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -q
BIN=target/release/spotmeta
DATA="${TMPDIR:-/tmp}/spotmeta-bench/batch_100000x20.csv"
if [ ! -f "$DATA" ]; then
  echo "generating $DATA (cargo bench --bench batch setup)..." >&2
  cargo bench --bench batch --locked -q -- --test read_and_group >/dev/null
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# GOSH input: the first group of the batch table (k = 20).
head -n 21 "$DATA" | cut -d, -f3,4 >"$WORK/gosh20.csv"
GROUPS_N=$(($(wc -l <"$DATA") - 1))
GROUPS_N=$((GROUPS_N / 20))

secs() { # seconds of wall time of a command
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
us() { echo "scale=3; 1000000 * $1 / $2" | bc -l; }

declare -A ME
ME[batch_reml_confint]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --out "$WORK/r.csv")" "$GROUPS_N")
ME[batch_reml]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --no-confint --out "$WORK/r.csv")" "$GROUPS_N")
ME[batch_dl]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --method DL --no-confint --out "$WORK/r.csv")" "$GROUPS_N")
ME[gosh_reml]=$(us "$(secs "$BIN" gosh "$WORK/gosh20.csv" --out "$WORK/g")" 1048575)

echo "date: $(date -u +%Y-%m-%d)  cores: $(nproc)  input: $GROUPS_N groups x k=20 ($DATA)"
printf '%-20s %14s %14s %10s\n' case "spotmeta us" "peer us" "ratio"
report() { # peer name, lines "case us"
  local peer=$1
  while read -r case t; do
    [ -n "${ME[$case]:-}" ] || continue
    printf '%-20s %14.3f %14.3f %9.2fx  (%s)\n' "$case" "${ME[$case]}" "$t" \
      "$(echo "$t / ${ME[$case]}" | bc -l)" "$peer"
  done
}
for case in "${!ME[@]}"; do printf '%-20s %14.3f\n' "$case" "${ME[$case]}"; done | sort
if command -v Rscript >/dev/null && Rscript -e 'library(metafor)' >/dev/null 2>&1; then
  Rscript benches/peers/metafor.R "$DATA" "$WORK/gosh20.csv" | report "metafor $(Rscript -e 'cat(as.character(packageVersion("metafor")))')"
else
  echo "metafor: not installed, skipped"
fi
if python3 -c 'import pymare' >/dev/null 2>&1; then
  python3 benches/peers/pymare_peer.py "$DATA" | report "PyMARE $(python3 -c 'import pymare; print(pymare.__version__)')"
else
  echo "PyMARE: not installed (pip install pymare), skipped"
fi
