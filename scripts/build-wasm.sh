#!/usr/bin/env bash
# Builds certledger-core for wasm32-unknown-unknown (the sans-io check, every run) and the
# certledger-verifier cdylib with the `wasm` profile, runs wasm-bindgen --target web into
# verifier-wasm/web/pkg/, shrinks it with wasm-opt when available, and prints the .wasm size as
# JSON on stdout. Progress and notes go to stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"

[ -f "$TOOLCHAIN_ENV" ] || bash "$ROOT/scripts/setup.sh"
# shellcheck source=/dev/null
source "$TOOLCHAIN_ENV"

TARGET=wasm32-unknown-unknown
PKG="$ROOT/verifier-wasm/web/pkg"
cd "$ROOT"

# One cargo invocation builds both: core as its own package (so a wasm32 break in core fails here
# even if the verifier stopped using part of it) and the verifier's cdylib.
# shellcheck disable=SC2086 # WASM_BUILD_STD is empty or one flag
quietly wasm-build "$WASM_CARGO" build --locked --profile wasm --target "$TARGET" $WASM_BUILD_STD \
  -p certledger-core -p certledger-verifier

WASM_IN="$CARGO_TARGET_DIR/$TARGET/wasm/certledger_verifier.wasm"
rm -rf "$PKG"
quietly wasm-bindgen wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir "$PKG" "$WASM_IN"
WASM_OUT="$PKG/certledger_verifier_bg.wasm"

WASM_OPT=skipped
WASM_OPT_MIN=116
# Prefer the Binaryen the browser tests' npm lock pins (tests/browser: binaryen), then the system's.
NPM_WASM_OPT="$ROOT/tests/browser/node_modules/.bin/wasm-opt"
[ -x "$NPM_WASM_OPT" ] && export PATH="$(dirname "$NPM_WASM_OPT"):$PATH"
wasm_opt_version() { wasm-opt --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p'; }
if ! command -v wasm-opt >/dev/null 2>&1; then
  echo "note: wasm-opt not found (Binaryen); skipped" >&2
elif [ "$(wasm_opt_version)" -lt "$WASM_OPT_MIN" ] 2>/dev/null || [ -z "$(wasm_opt_version)" ]; then
  # Older Binaryen (Debian 12 ships 108) rewrites rustc's reference-types output into a module
  # that browsers reject at instantiation; an unoptimised module is better than a broken one.
  echo "note: wasm-opt $(wasm_opt_version) is older than $WASM_OPT_MIN; skipped" >&2
  WASM_OPT="skipped-old-$(wasm_opt_version)"
# --zero-filled-memory: the module defines its own memory (wasm-bindgen), which the engine
# zero-fills, so zero bytes in data segments need not be stored.
elif quietly wasm-opt wasm-opt -Oz --converge --zero-filled-memory --enable-bulk-memory --enable-sign-ext \
  --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
  --enable-multivalue -o "$WASM_OUT.opt" "$WASM_OUT"; then
  mv "$WASM_OUT.opt" "$WASM_OUT"
  WASM_OPT=applied
else
  rm -f "$WASM_OUT.opt"
  WASM_OPT=failed
  echo "note: wasm-opt failed (see $LOG_DIR/wasm-opt.log); kept the module unoptimised" >&2
fi

RAW=$(stat -c %s "$WASM_OUT")
GZ=$(gzip -9 -c "$WASM_OUT" | wc -c)
printf '{"wasm":"%s","raw_bytes":%d,"gzip_bytes":%d,"wasm_opt":"%s","toolchain":"%s"}\n' \
  "${WASM_OUT#"$ROOT"/}" "$RAW" "$GZ" "$WASM_OPT" "$WASM_TOOLCHAIN"
