#!/usr/bin/env bash
# Seeded chaos run (issue #12; specs/faults.md): a devnet of 4 validators, every peer link through
# a fault proxy on 127.0.0.1, steady client load, and random network faults drawn from the seed
# (the same seed replays the same fault sequence) for N minutes. Checks continuously that no two
# nodes commit different blocks, and after the last heal that every acknowledged entry is
# committed on every node; prints a JSON summary (faults by kind, entries acknowledged and lost,
# longest stall, recovery after each heal). Exits non-zero on a lost entry, a conflicting commit
# or a heal not followed by commits on every node within 120 s.
#
# Usage: scripts/chaos.sh [--seed S] [--minutes N] [--summary FILE]
#   defaults: seed 1, 2 minutes, summary in $CARGO_TARGET_DIR/chaos/seed-S.json
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
SEED=1
MINUTES=2
SUMMARY=
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) SEED="${2:?--seed needs a value}"; shift 2 ;;
    --minutes) MINUTES="${2:?--minutes needs a value}"; shift 2 ;;
    --summary) SUMMARY="${2:?--summary needs a value}"; shift 2 ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "chaos.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$SEED" =~ ^[0-9]+$ ]] || { echo "chaos.sh: --seed must be a non-negative integer" >&2; exit 2; }
[[ "$MINUTES" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "chaos.sh: --minutes must be a number" >&2; exit 2; }
if [ -z "$SUMMARY" ]; then
  mkdir -p "$CARGO_TARGET_DIR/chaos"
  SUMMARY="$CARGO_TARGET_DIR/chaos/seed-$SEED.json"
fi
rm -f "$SUMMARY"
echo "chaos.sh: seed $SEED, $MINUTES minutes; progress on stderr, summary in $SUMMARY" >&2
status=0
CERTLEDGER_CHAOS_SEED="$SEED" CERTLEDGER_CHAOS_MINUTES="$MINUTES" CERTLEDGER_CHAOS_SUMMARY="$SUMMARY" \
  cargo test --locked -q -p certledger-node --test chaos -- --ignored --exact chaos --nocapture \
  >&2 || status=$?
if [ -s "$SUMMARY" ]; then
  cat "$SUMMARY"
  echo
else
  echo "chaos.sh: the run ended without a summary (exit $status)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
