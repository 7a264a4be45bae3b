#!/usr/bin/env bash
# The main job: a multi-department demo that issues, presents and verifies a credential end to
# end, then shows a tampered copy refused. Needs only Rust (cargo); builds in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT"
echo "==> building (release; the first build takes a few minutes)"
cargo build --release --locked -q -p certledger-core --example demo
exec "$CARGO_TARGET_DIR/release/examples/demo" "$@"
