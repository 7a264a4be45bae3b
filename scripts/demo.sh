#!/usr/bin/env bash
# The main job: a real 4-department devnet (separate node processes on 127.0.0.1, Malachite BFT,
# sled storage) on which two departments register issuers, market regulation issues a business
# licence, the anchor is committed, proofs are fetched from another node, the presentation bundle
# is verified offline against the genesis trust root, and a tampered copy is refused.
# Needs only Rust (cargo); builds the node in release mode. Extra arguments go to
# `certledger-node devnet` (e.g. --keep-running). Exits non-zero if any step fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT"
echo "==> building certledger-node (release; the first build takes several minutes)"
cargo build --release --locked -q -p certledger-node
DIR="$ROOT/target/demo-devnet/run-$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$(dirname "$DIR")"
echo "==> devnet and demo in $DIR"
"$CARGO_TARGET_DIR/release/certledger-node" devnet --validators 4 --dir "$DIR" --demo "$@"
echo "==> files for the wallet and the verification page: $DIR/demo/"
