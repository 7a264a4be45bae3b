#!/usr/bin/env bash
# End-to-end across processes: a real 4-department devnet (debug build), the demo issues a licence
# to a fresh citizen wallet's holder key, and the wallet CLI imports it (checked against the trust
# root the node serves), refreshes its proofs from another node, presents two claims for a
# verifier request, and verifies the bundle; a replay with another nonce is refused.
# Uses the debug binaries `cargo test --workspace` built. Exits non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NODE="$CARGO_TARGET_DIR/debug/certledger-node"
WALLET="$CARGO_TARGET_DIR/debug/certledger-wallet"
[ -x "$NODE" ] && [ -x "$WALLET" ] || cargo build --locked -q -p certledger-node -p certledger-wallet
WORK="$(mktemp -d)"
DEVNET_PID=
cleanup() {
  [ -n "$DEVNET_PID" ] && kill "$DEVNET_PID" 2>/dev/null && wait "$DEVNET_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "e2e: FAILED: $*" >&2; tail -n 30 "$WORK/devnet.log" >&2 || true; exit 1; }

"$NODE" devnet --validators 4 --dir "$WORK/net" >"$WORK/devnet.log" 2>&1 &
DEVNET_PID=$!
for _ in $(seq 1 120); do
  grep -q "node-3 (validator): http" "$WORK/devnet.log" 2>/dev/null && break
  sleep 0.5
done
node_url() { grep -o "node-$1 (validator): http://[0-9.:]*" "$WORK/devnet.log" | awk '{print $3}'; }
N1="$(node_url 1)"
[ -n "$N1" ] || fail "the devnet did not start"

# A weak KDF keeps this test fast; the wallet refuses such files unless this variable is set.
export CERTLEDGER_WALLET_INSECURE_TEST_KDF=1
W=("$WALLET" --wallet-dir "$WORK/wallet" --passphrase-file "$WORK/pass")
printf 'correct horse battery staple\n' >"$WORK/pass"
HOLDER="$("${W[@]}" --json init | python3 -c 'import json,sys; print(json.load(sys.stdin)["holder_key"])')"
timeout 180 "$NODE" demo --dir "$WORK/net" --holder-key "$HOLDER" >"$WORK/demo.log" 2>&1 \
  || { cat "$WORK/demo.log" >&2; fail "demo"; }
curl -fsS "$N1/v1/trust-root" >"$WORK/trust-root.json" || fail "GET /v1/trust-root"
"${W[@]}" trust set "$WORK/trust-root.json" >/dev/null || fail "trust set"
"${W[@]}" import "$WORK/net/demo/credential-for-holder.json" >/dev/null || fail "import"
if "${W[@]}" import "$WORK/net/demo/credential.json" >/dev/null 2>&1; then
  fail "a credential bound to another holder key was imported"
fi
"${W[@]}" refresh --node "$N1" >/dev/null || fail "refresh from $N1"
NOW=$(date +%s)
NONCE=$(python3 -c 'import os,base64; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')
printf '{"version":1,"verifier_id":"counter-1","purpose":"check a business licence","claims":["credit_code","entity_name"],"credential_types":["urn:cn:certledger:vct:business-licence:1"],"nonce":"%s","audience":"counter-1","created_at":%d,"expires_at":%d}' \
  "$NONCE" "$NOW" $((NOW + 600)) >"$WORK/request.json"
"${W[@]}" present --request "$WORK/request.json" --yes --out "$WORK/bundle.clb" --no-terminal-qr \
  >/dev/null 2>&1 || fail "present"
"$WALLET" --json verify "$WORK/bundle.clb" --trust-root "$WORK/trust-root.json" --nonce "$NONCE" \
  --audience counter-1 >"$WORK/verdict.json" || fail "verify: $(cat "$WORK/verdict.json")"
grep -q '"entity_name"' "$WORK/verdict.json" || fail "verdict lacks the disclosed claim"
if grep -q '"address"' "$WORK/verdict.json"; then fail "an undisclosed claim was shown"; fi
if "$WALLET" verify "$WORK/bundle.clb" --trust-root "$WORK/trust-root.json" \
  --nonce AAAAAAAAAAAAAAAAAAAAAA --audience counter-1 >/dev/null 2>&1; then
  fail "a replay with another nonce was accepted"
fi
echo "devnet + demo + wallet import/refresh/present/verify, replay refused"
echo "e2e: 1 passed, 0 failed"
