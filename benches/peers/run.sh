#!/usr/bin/env bash
# Peer comparison (issues #7, #19): the same inputs through spotmeta, R
# metafor and Python PyMARE, timed in one run. Two tables:
#  1. whole process (spotmeta batch: read, pool, write) against the peers'
#     in-memory vectorised DL fit of the same 100,000 data sets, in seconds,
#     with the ratio peer / spotmeta (above 1: spotmeta is faster);
#  2. microseconds per fit and the ratios, as before.
# Peers that are not installed are skipped (a numpy DL written out in
# pymare_peer.py stands in, clearly named); CI never runs this.
# Needs: cargo; optionally Rscript with metafor, python3 with numpy/pandas
# (and pymare).
#
#   bash benches/peers/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -q
BIN="${CARGO_TARGET_DIR:-target}/release/spotmeta"
DIR="${TMPDIR:-/tmp}/spotmeta-bench"
DATA="$DIR/batch_100000x20.csv"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Our whole-process numbers (benches/scale.rs also writes the CSV and
# Parquet inputs on first use).
cargo bench --bench scale --locked -q -- batch_dl | tee "$WORK/scale.txt"
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
scale_s() { awk -v c="$1" '$1 == "scale" && $2 == c { print $4 }' "$WORK/scale.txt"; }

PEERS="$WORK/peers.txt"
: >"$PEERS"
if command -v Rscript >/dev/null && Rscript -e 'library(metafor)' >/dev/null 2>&1; then
  METAFOR="metafor $(Rscript -e 'cat(as.character(packageVersion("metafor")))')"
  Rscript benches/peers/metafor.R "$DATA" "$WORK/gosh20.csv" | sed "s/\$/ $METAFOR/" >>"$PEERS"
else
  echo "metafor: not installed, skipped"
fi
if python3 -c 'import numpy, pandas' >/dev/null 2>&1; then
  if python3 -c 'import pymare' >/dev/null 2>&1; then
    PYMARE="PyMARE $(python3 -c 'import pymare; print(pymare.__version__)')"
  else
    PYMARE="numpy-DL"
    echo "PyMARE: not installed (pip install pymare); the numpy DL of pymare_peer.py stands in"
  fi
  python3 benches/peers/pymare_peer.py "$DATA" | sed "s/\$/ $PYMARE/" >>"$PEERS"
else
  echo "python3 with numpy and pandas: not installed, skipped"
fi

echo
echo "date: $(date -u +%Y-%m-%d)  cores: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)  input: $GROUPS_N groups x k=20"
echo "1. whole process (spotmeta, s) vs in-memory DL fit of all groups (peer, s)"
printf '%-22s %12s %12s %9s  %s\n' case "spotmeta s" "peer s" ratio peer
for ours in batch_dl_parquet batch_dl_csv; do
  me=$(scale_s "$ours")
  [ -n "$me" ] || continue
  while read -r case t peer; do
    case "$case" in batch_dl_fit_s | batch_dl_numpy_fit_s) ;; *) continue ;; esac
    [ "$case" = batch_dl_numpy_fit_s ] && peer="numpy-DL (pymare_peer.py)"
    printf '%-22s %12.3f %12.3f %8.2fx  %s\n' "$ours" "$me" "$t" \
      "$(echo "$t / $me" | bc -l)" "$peer"
  done <"$PEERS"
done

declare -A ME
ME[batch_reml_confint]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --out "$WORK/r.csv")" "$GROUPS_N")
ME[batch_reml]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --no-confint --out "$WORK/r.csv")" "$GROUPS_N")
ME[batch_dl]=$(us "$(secs "$BIN" batch "$DATA" --group outcome,region --method DL --no-confint --out "$WORK/r.csv")" "$GROUPS_N")
ME[gosh_reml]=$(us "$(secs "$BIN" gosh "$WORK/gosh20.csv" --out "$WORK/g")" 1048575)
echo
echo "2. microseconds per fit (spotmeta: whole process / fits)"
printf '%-22s %12s %12s %9s  %s\n' case "spotmeta us" "peer us" ratio peer
while read -r case t peer; do
  [ -n "${ME[$case]:-}" ] || continue
  printf '%-22s %12.3f %12.3f %8.2fx  %s\n' "$case" "${ME[$case]}" "$t" \
    "$(echo "$t / ${ME[$case]}" | bc -l)" "$peer"
done <"$PEERS"
