#!/usr/bin/env bash
# Installs what the build and tests need beyond Rust itself; idempotent and quiet on success.
#   - the wasm32-unknown-unknown target: rustup first, else Debian's rustc-web (recorded in
#     $CARGO_TARGET_DIR/certledger-toolchain.env, which build-wasm.sh sources);
#   - wasm-bindgen-cli at exactly the version the workspace pins;
#   - cargo-deny and cargo-fuzz at pinned versions (scripts/deny.sh, scripts/fuzz.sh);
#   - Debian's chromium and chromium-driver for the browser tests;
#   - the browser tests' npm packages (npm ci from the committed lock file).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup_wasm_target() {
  # CERTLEDGER_WASM_TOOLCHAIN=debian forces the fallback (to test it on a machine with rustup).
  if [ "${CERTLEDGER_WASM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null 2>&1 \
    && { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
      || quietly rustup-target-add rustup target add wasm32-unknown-unknown; }; then
    cat >"$TOOLCHAIN_ENV" <<'ENV'
# Written by scripts/setup.sh: the wasm32 target comes from rustup.
WASM_TOOLCHAIN=rustup
WASM_CARGO=cargo
WASM_BUILD_STD=
ENV
    return 0
  fi
  echo "setup: rustup cannot add wasm32-unknown-unknown; using Debian's rustc-web" >&2
  if ! [ -x /usr/bin/rustc ] || ! [ -d /usr/lib/rustlib/src ] || ! wasm_ld >/dev/null; then
    apt_install rustc-web cargo-web rust-web-src lld
  fi
  local linker
  linker="$(wasm_ld)" || { echo "error: no wasm-ld after installing lld" >&2; return 1; }
  cat >"$TOOLCHAIN_ENV" <<ENV
# Written by scripts/setup.sh: the wasm32 target comes from Debian's rustc-web (no rustup target).
WASM_TOOLCHAIN=debian
WASM_CARGO=/usr/bin/cargo
WASM_BUILD_STD=-Zbuild-std=std,panic_abort
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$linker
ENV
}

wasm_ld() {
  command -v wasm-ld || ls /usr/bin/wasm-ld-* /usr/lib/llvm-*/bin/wasm-ld 2>/dev/null | head -n 1
}

setup_wasm_bindgen() {
  local want have
  want="$(pinned_wasm_bindgen_version)"
  [ -n "$want" ] || { echo "error: no exact wasm-bindgen pin in Cargo.toml" >&2; return 1; }
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
  [ "$have" = "$want" ] && return 0
  echo "setup: installing wasm-bindgen-cli $want (a few minutes)" >&2
  # The install gets its own target dir so it never contends with the workspace's.
  local tdir="$CARGO_TARGET_DIR/wasm-bindgen-cli"
  if ! CARGO_TARGET_DIR="$tdir" quietly wasm-bindgen-cli-locked \
    cargo install wasm-bindgen-cli --version "$want" --locked; then
    # A registry mirror can lack a version the CLI's own lock names; resolve afresh, still at
    # the pinned CLI version, rather than fail the whole setup.
    echo "setup: --locked install failed; retrying without --locked" >&2
    CARGO_TARGET_DIR="$tdir" quietly wasm-bindgen-cli \
      cargo install wasm-bindgen-cli --version "$want"
  fi
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
  [ "$have" = "$want" ] || {
    echo "error: wasm-bindgen on PATH is '$have', want $want (is ~/.cargo/bin on PATH?)" >&2
    return 1
  }
}

# Pinned tool versions: bump deliberately (a new cargo-deny can add checks that fail the build).
CARGO_DENY_VERSION=0.20.2
CARGO_FUZZ_VERSION=0.13.2

# cargo_tool CRATE VERSION BINARY: `cargo install CRATE --version VERSION --locked` unless
# `cargo BINARY --version` already reports VERSION; its own target dir, so it never contends with
# the workspace's.
cargo_tool() {
  local crate="$1" want="$2" sub="$3" have
  have="$(cargo "$sub" --version 2>/dev/null | awk '{print $2}')" || true
  [ "$have" = "$want" ] && return 0
  echo "setup: installing $crate $want (a few minutes)" >&2
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/tools/$crate" quietly "$crate" \
    cargo install "$crate" --version "$want" --locked
  have="$(cargo "$sub" --version 2>/dev/null | awk '{print $2}')" || true
  [ "$have" = "$want" ] || {
    echo "error: cargo $sub reports '$have', want $want (is ~/.cargo/bin on PATH?)" >&2
    return 1
  }
}

setup_chromium() {
  if ! [ -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
    echo "setup: installing Debian chromium and chromium-driver" >&2
    apt_install chromium chromium-driver
  fi
  # A small CJK font so the page's Chinese renders in headless screenshots (5 MB).
  if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    apt_install fonts-wqy-microhei
  fi
}

setup_npm() {
  local dir="$ROOT/tests/browser" stamp lock_sum
  stamp="$dir/node_modules/.certledger-lock.sha256"
  lock_sum="$(sha256sum "$dir/package-lock.json" | awk '{print $1}')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
    return 0
  fi
  (cd "$dir" && quietly npm-ci npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
}

command -v cargo >/dev/null 2>&1 || { echo "error: cargo is not on PATH" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "error: node/npm are not installed" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
setup_wasm_target
setup_wasm_bindgen
cargo_tool cargo-deny "$CARGO_DENY_VERSION" deny
cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" fuzz
setup_chromium
setup_npm
