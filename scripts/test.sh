#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run): setup, format, lints, the supply-chain check
# (cargo deny), the Rust tests, a short coverage-guided fuzz run of every decoder, the wasm32 build
# and the browser tests. Runs every step it can, exits non-zero if any failed, and
# ends with a one-line summary.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
# Line tables are enough for test backtraces and make the debug build of the node much smaller.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Where Rust integration tests leave bundle cases for the browser tests
# (`env!("CARGO_TARGET_TMPDIR")/browser-cases`); see tests/browser/bundles.test.mjs.
export CERTLEDGER_BUNDLE_CASES="${CERTLEDGER_BUNDLE_CASES:-$CARGO_TARGET_DIR/tmp/browser-cases}"
cd "$ROOT"

declare -a PASSED=() FAILED=() SKIPPED=()
START=$SECONDS

# step NAME CMD...: runs CMD with its output shown, records the outcome and its duration.
step() {
  local name="$1" t0=$SECONDS
  shift
  echo "==> $name"
  if "$@"; then
    PASSED+=("$name")
    echo "==> $name: ok ($((SECONDS - t0)) s)"
  else
    FAILED+=("$name")
    echo "==> $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

browser_tests() {
  (cd "$ROOT/tests/browser" && node --test --test-concurrency=1 .)
}

step setup bash scripts/setup.sh
step fmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
step deny bash scripts/deny.sh
step cargo-test cargo test --workspace --locked --no-fail-fast
step chaos bash scripts/chaos.sh --seed 7 --minutes 2
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# The short fuzz run leaves out peer_messages: its instrumented build compiles the whole node
# (Malachite, libp2p: about 30 minutes cold on 2 cores); specs/supply-chain.md has its runs.
step fuzz env FUZZ_NODE=0 bash scripts/fuzz.sh
step wasm-build bash scripts/build-wasm.sh
step e2e bash scripts/e2e.sh
if [[ " ${PASSED[*]} " == *" wasm-build "* && " ${PASSED[*]} " == *" setup "* ]]; then
  step browser-tests browser_tests
else
  SKIPPED+=(browser-tests)
  echo "==> browser-tests: skipped (needs setup and wasm-build)"
fi

echo
summary="test.sh: ${#PASSED[@]} steps ok (${PASSED[*]:-none})"
[ ${#FAILED[@]} -gt 0 ] && summary+="; FAILED: ${FAILED[*]}"
[ ${#SKIPPED[@]} -gt 0 ] && summary+="; skipped: ${SKIPPED[*]}"
echo "$summary; $((SECONDS - START)) s"
[ ${#FAILED[@]} -eq 0 ] && [ ${#SKIPPED[@]} -eq 0 ]
