#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz + libFuzzer) of every decoder; the targets are in fuzz/.
#   scripts/fuzz.sh                 smoke run: build every target, run each for FUZZ_SECONDS (15)
#   FUZZ_SECONDS=600 scripts/fuzz.sh bundle sd_jwt    longer runs of some targets
# Environment: FUZZ_SECONDS (per target), FUZZ_SANITIZER (none|address, default none: our code
# forbids `unsafe`, and the run looks for panics, aborts, hangs and round-trip failures),
# FUZZ_JOBS (parallel runs of one target, default 1), FUZZ_NODE=0 (leave out peer_messages, whose
# build compiles the whole node: Malachite, libp2p, ...). The corpus grows in
# $CARGO_TARGET_DIR/fuzz-corpus/<target> (seeded from the vectors by fuzz/make_seeds.py); a
# crashing input is written to $CARGO_TARGET_DIR/fuzz-artifacts/<target>/ and fails the script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT"

secs="${FUZZ_SECONDS:-15}"
sanitizer="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"
# cargo-fuzz passes nightly-only flags (sanitizer coverage options, -Zsanitizer); a stable rustc
# accepts them when told it may (the same switch the Debian wasm toolchain path uses).
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "error: cargo-fuzz is not installed (scripts/setup.sh installs it)" >&2
  exit 1
}
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is needed for the seeds" >&2; exit 1; }

# Release build with debug assertions (overflow checks included), like the tests.
fuzz=(--fuzz-dir "$ROOT/fuzz" --target-dir "$CARGO_TARGET_DIR/fuzz" --sanitizer "$sanitizer" --debug-assertions)
[ "${FUZZ_NODE:-1}" = 0 ] || fuzz+=(--features node)
corpus_root="$CARGO_TARGET_DIR/fuzz-corpus"
artifacts="$CARGO_TARGET_DIR/fuzz-artifacts"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir "$ROOT/fuzz")
  if [ "${FUZZ_NODE:-1}" = 0 ]; then
    mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -vx peer_messages)
  fi
fi
[ ${#targets[@]} -gt 0 ] || { echo "error: no fuzz targets" >&2; exit 1; }

python3 "$ROOT/fuzz/make_seeds.py" "$ROOT" "$corpus_root"
t0=$SECONDS
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" quietly fuzz-build cargo fuzz build "${fuzz[@]}"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - t0)) s (sanitizer: $sanitizer)"

declare -a failed=() extra=()
# libFuzzer's -jobs runs workers in subprocesses that log to fuzz-N.log in the working directory.
[ "$jobs" -gt 1 ] && extra+=(-jobs="$jobs" -workers="$jobs")
for t in "${targets[@]}"; do
  mkdir -p "$corpus_root/$t" "$artifacts/$t"
  log="$LOG_DIR/fuzz-$t.log"
  [ "$jobs" -gt 1 ] && cd "$LOG_DIR"
  t1=$SECONDS
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a decoder must stay bounded.
  if cargo fuzz run "${fuzz[@]}" "$t" "$corpus_root/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "${extra[@]}" \
    -artifact_prefix="$artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')"
    echo "fuzz: $t ok: ${runs:-?} runs, coverage ${cov:-?} edges, corpus $(ls "$corpus_root/$t" | wc -l) inputs, $((SECONDS - t1)) s"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED (log: $log); crashing inputs:" >&2
    ls -1 "$artifacts/$t" >&2 || true
    grep -A 30 -m 1 -E "panicked|ERROR: libFuzzer|deadly signal" "$log" >&2 || tail -n 40 "$log" >&2
  fi
done
echo "fuzz: ${#targets[@]} targets, $((SECONDS - t0)) s in all"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: FAILED: ${failed[*]}" >&2; exit 1; }
