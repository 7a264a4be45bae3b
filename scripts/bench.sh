#!/usr/bin/env bash
# One benchmark command: the node under load (commit latency, throughput, memory and disk against
# offered load), native verification and browser verification, written as ONE JSON file and an
# HTML report with plots (no network needed to view it). The figures in specs/ come from here.
#
#   scripts/bench.sh [--quick] [--rates 500,1000,1500] [--seconds 10] [--out DIR]
#                    [--skip-node] [--skip-native] [--skip-browser]
#
# --quick: small counts (a smoke run, ~1 minute after the builds). Release builds of the node
# and of core's bench-verify example; the browser part needs scripts/build-wasm.sh and the npm
# packages of tests/browser (scripts/setup.sh installs them) and is skipped when they are absent.
# Every part measures its own baseline in the same run (one Ed25519 verify_strict for the
# verifiers; the lowest offered load for the node), so ratios in the report are same-run ratios.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT"

RATES="500,1000,1500,2000"
SECONDS_PER_RATE=10
NATIVE_ITER=5000
BROWSER_ITER=2000
OUT=""
SKIP_NODE=0 SKIP_NATIVE=0 SKIP_BROWSER=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) RATES="200,400"; SECONDS_PER_RATE=4; NATIVE_ITER=500; BROWSER_ITER=200 ;;
    --rates) RATES="${2:?--rates needs a list}"; shift ;;
    --seconds) SECONDS_PER_RATE="${2:?--seconds needs a number}"; shift ;;
    --out) OUT="${2:?--out needs a directory}"; shift ;;
    --skip-node) SKIP_NODE=1 ;;
    --skip-native) SKIP_NATIVE=1 ;;
    --skip-browser) SKIP_BROWSER=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RATES" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench.sh: --rates must be numbers separated by commas" >&2; exit 2; }
[[ "$SECONDS_PER_RATE" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "bench.sh: --seconds must be a number" >&2; exit 2; }

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$CARGO_TARGET_DIR/bench/$STAMP}"
mkdir -p "$OUT"
PARTS="$OUT/parts"
mkdir -p "$PARTS"

machine_json() {
  local cpu
  cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  printf '{"cores":%s,"mem_kib":%s,"cpu":"%s","kernel":"%s","rustc":"%s","at":"%s"}\n' \
    "$(nproc)" "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)" \
    "${cpu//\"/}" "$(uname -r)" "$(rustc --version | tr -d '"')" "$STAMP"
}
machine_json >"$PARTS/machine.json"

# --- native verification ---------------------------------------------------------------------
if [ "$SKIP_NATIVE" = 0 ]; then
  echo "==> native verification (release build of core's bench-verify)"
  cargo build --release --locked -q -p certledger-core --example bench-verify
  "$CARGO_TARGET_DIR/release/examples/bench-verify" "$NATIVE_ITER" >"$PARTS/native.json"
fi

# --- node under load ---------------------------------------------------------------------------
# RSS of every node process of the devnet in $1, in bytes, as a JSON array.
node_rss() {
  local pids pid out="" rss
  pids="$(pgrep -f "certledger-node run --config $1/" || true)"
  for pid in $pids; do
    rss="$(sed -n 's/^VmRSS: *\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)"
    [ -n "$rss" ] && out+="${out:+,}$((rss * 1024))"
  done
  echo "[$out]"
}

# The log size node 0 of the devnet in $1 reports at /health (null when it does not answer).
log_size() {
  local addr
  addr="$(sed -n 's/^http_listen *= *"\(.*\)"/\1/p' "$1/node-0/node.toml")"
  node -e 'fetch(process.argv[1]).then((r) => r.json()).then((j) => console.log(j.log_size ?? null), () => console.log(null))' \
    "http://$addr/health"
}

if [ "$SKIP_NODE" = 0 ]; then
  echo "==> node under load (release build of certledger-node; 4 validators + the load generator on this machine)"
  cargo build --release --locked -q -p certledger-node
  NODE_BIN="$CARGO_TARGET_DIR/release/certledger-node"
  NET="$OUT/devnet"
  "$NODE_BIN" devnet --validators 4 --dir "$NET" >"$OUT/devnet.log" 2>&1 &
  DEVNET_PID=$!
  trap 'kill -INT "$DEVNET_PID" 2>/dev/null || true; wait "$DEVNET_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    [ -f "$NET/node-3/node.toml" ] && "$NODE_BIN" status --url "http://$(sed -n 's/^http_listen *= *"\(.*\)"/\1/p' "$NET/node-0/node.toml")" >/dev/null 2>&1 && break
    sleep 0.5
  done
  : >"$PARTS/node-load.jsonl"
  IFS=',' read -r -a RATE_LIST <<<"$RATES"
  for rate in "${RATE_LIST[@]}"; do
    echo "    offered $rate/s for ${SECONDS_PER_RATE}s"
    line="$("$NODE_BIN" bench --dir "$NET" --rates "$rate" --seconds "$SECONDS_PER_RATE" | tail -n 1)"
    printf '{"run":%s,"rss_bytes":%s,"ledger_entries_after":%s}\n' "$line" "$(node_rss "$NET")" \
      "$(log_size "$NET")" >>"$PARTS/node-load.jsonl"
  done
  kill -INT "$DEVNET_PID" 2>/dev/null || true
  wait "$DEVNET_PID" 2>/dev/null || true
  trap - EXIT
fi

# --- browser verification ----------------------------------------------------------------------
if [ "$SKIP_BROWSER" = 0 ]; then
  if [ -f "$ROOT/verifier-wasm/web/pkg/certledger_verifier_bg.wasm" ] && [ -d "$ROOT/tests/browser/node_modules" ]; then
    echo "==> browser verification (Chromium)"
    (cd "$ROOT/tests/browser" && node bench.mjs "$BROWSER_ITER") | tail -n 1 >"$PARTS/browser.json"
  else
    echo "==> browser verification: skipped (run scripts/setup.sh and scripts/build-wasm.sh first)"
  fi
fi

echo "==> report"
node "$ROOT/scripts/bench-report.mjs" "$PARTS" "$OUT/bench.json" "$OUT/report.html"
echo "bench.sh: $OUT/bench.json and $OUT/report.html"
