# Shared helpers for scripts/*.sh: sourced, not run.
# Paths, the toolchain env file written by setup.sh, and quiet step runners.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Written by setup.sh: which wasm32 toolchain (rustup or Debian) the wasm build uses.
TOOLCHAIN_ENV="$CARGO_TARGET_DIR/certledger-toolchain.env"
LOG_DIR="$CARGO_TARGET_DIR/script-logs"
mkdir -p "$LOG_DIR"

# The wasm-bindgen version pinned in the root Cargo.toml (`wasm-bindgen = "=X.Y.Z"`).
pinned_wasm_bindgen_version() {
  sed -n 's/^wasm-bindgen *= *"=\([0-9][0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1
}

# quietly NAME CMD...: runs CMD with its output in a log; on failure prints the log tail.
quietly() {
  local name="$1"
  shift
  local log="$LOG_DIR/$name.log"
  "$@" >"$log" 2>&1 && return 0
  local rc=$?
  echo "error: '$name' failed (exit $rc): $*" >&2
  echo "----- last 40 lines of $log -----" >&2
  tail -n 40 "$log" >&2
  return "$rc"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    quietly apt-update as_root apt-get update -q || return 1
    APT_UPDATED=1
  fi
  quietly "apt-install-$1" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}
