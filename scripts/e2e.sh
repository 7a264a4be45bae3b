#!/usr/bin/env bash
# End-to-end across processes, through the shipped command-line tools only: a real devnet of 4
# department validators plus one spare department node (debug build); credential types and
# issuers registered with `certledger-node type|issuer`; every shipped type issued with
# `certledger-node issue` to a citizen wallet's holder key, imported, presented and verified with
# `certledger-wallet`; a full-disclosure W3C VC 2.0 diploma (`issue --format w3c`); revocation, suspension and reinstatement; an identity attestation batch
# (`issue-batch`) giving per-verifier pseudonyms; linked credentials; a department audit; an
# issuer key rotation; signed verifier requests (`certledger-node verifier register|rotate|retire|
# request`: forged, rotated-out and retired requests refused, nonces single-use, the consent
# history); a governance change adding the spare department (`gov`), after which blocks still
# commit; and cross-province recognition: this devnet is "Shanghai", a second 2-validator devnet
# "Zhejiang" issues a licence, both publish signed ledger roots (`gov root-draft|root-sign`), the
# wallet holds both (`trust add`) and one counter verifies a credential from each against one
# trust list (`specs/trust-list.md`). Each case is counted; the first failure stops the run (the rest are
# reported as skipped). Needs no network beyond 127.0.0.1; stops every process it started.
# Uses the debug binaries `cargo test --workspace` built. Exits non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
NODE="$CARGO_TARGET_DIR/debug/certledger-node"
WALLET="$CARGO_TARGET_DIR/debug/certledger-wallet"
[ -x "$NODE" ] && [ -x "$WALLET" ] || cargo build --locked -q -p certledger-node -p certledger-wallet
WORK="$(mktemp -d)"
# Admin and issuer key files are sealed under a passphrase; every tool below reads it from here.
printf 'e2e key passphrase\n' >"$WORK/key-passphrase"
chmod 600 "$WORK/key-passphrase"
export CERTLEDGER_KEY_PASSPHRASE_FILE="$WORK/key-passphrase"
OUT="$WORK/out"
mkdir -p "$OUT"
DEVNET_PID=
ZJ_PID=
cleanup() {
  if [ -n "$ZJ_PID" ]; then
    kill "$ZJ_PID" 2>/dev/null || true
    wait "$ZJ_PID" 2>/dev/null || true
  fi
  if [ -n "$DEVNET_PID" ]; then
    # The devnet stops its node processes when it gets SIGTERM.
    kill "$DEVNET_PID" 2>/dev/null || true
    wait "$DEVNET_PID" 2>/dev/null || true
  fi
  if [ "${CERTLEDGER_E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# Interrupted or terminated: exit through the EXIT trap, which stops the devnet.
trap 'exit 130' INT TERM

START=$SECONDS
# bad MSG: reports why the current case failed (returns 1, so `cmd || bad "..." || return`).
bad() {
  echo "  FAILED: $*" >&2
  return 1
}
# run NAME CMD...: runs CMD (bounded to 120 s) with stdout in $OUT/NAME.out and stderr in
# $OUT/NAME.err; on failure shows both and returns the exit code.
run() {
  local name="$1" rc=0
  shift
  timeout 120 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "  '$name' exited $rc: $*" >&2
    tail -n 15 "$OUT/$name.out" "$OUT/$name.err" >&2 || true
  fi
  return "$rc"
}
# refused NAME CMD...: CMD must fail (its exit code is kept in $OUT/NAME.rc).
refused() {
  local name="$1" rc=0
  shift
  timeout 120 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
  echo "$rc" >"$OUT/$name.rc"
  [ "$rc" != 0 ] || bad "'$name' succeeded but should have been refused: $*"
}
# jv FILE EXPR: evaluates the Python expression EXPR on the JSON document d in FILE.
jv() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$2"
}
# ok_json FILE EXPR: the Python expression EXPR on d (FILE's JSON) must be true.
ok_json() {
  [ "$(jv "$1" "bool($2)")" = true ] || bad "$(basename "$1"): expected $2; got $(head -c 600 "$1")"
}

# ---------------------------------------------------------------------------------------------
# Fixtures: example claims per shipped type (fictional people and companies).
TYPES=(business-licence driving-licence diploma identity-attestation)
declare -A DEPT=([business-licence]=market-regulation [driving-licence]=transport
  [diploma]=education [identity-attestation]=public-security)
declare -A SHOW=([business-licence]=entity_name,credit_code [driving-licence]=name,vehicle_classes
  [diploma]=institution,level [identity-attestation]=age_over_18,region)
# A selectively disclosable claim of each type that is never asked for here.
declare -A HIDE=([business-licence]=address [driving-licence]=date_of_birth
  [diploma]=certificate_number [identity-attestation]=name)
write_claims() {
  mkdir -p "$WORK/claims"
  cat >"$WORK/claims/business-licence.json" <<'EOF'
{"credit_code":"91310000MA1FL0XX2K","entity_name":"上海示例科技有限公司","entity_type":"有限责任公司",
 "legal_representative":"张三","established_on":"2019-05-20","address":"上海市浦东新区示例路1号"}
EOF
  cat >"$WORK/claims/driving-licence.json" <<'EOF'
{"name":"李四","sex":"女","date_of_birth":"1990-03-15","first_issued_on":"2012-07-01",
 "vehicle_classes":"C1","valid_from":"2018-07-01","valid_until":"2028-07-01"}
EOF
  cat >"$WORK/claims/diploma.json" <<'EOF'
{"name":"王五","institution":"示例大学","programme":"计算机科学与技术","level":"本科",
 "graduated_on":"2015-06-30","certificate_number":"1000000201505000123"}
EOF
  cat >"$WORK/claims/identity-attestation.json" <<'EOF'
{"real_name_verified":true,"assurance_level":3,"age_over_16":true,"age_over_18":true,
 "age_over_60":false,"region":"310115","name":"赵六"}
EOF
}

# Verifiers registered in case_verifiers (purpose `e2e`, every claim asked for here), each with its
# own request-signing key file in $WORK/verifiers/.
VERIFIERS=(counter-business-licence counter-driving-licence counter-diploma
  counter-identity-attestation verifier-a verifier-b counter-linked counter-after-change counter-rotate)
E2E_CLAIMS=age_over_18,credit_code,entity_name,institution,level,name,region,vehicle_classes
# Every claim of the diploma: what a full-disclosure W3C diploma discloses (purpose `w3c-full`).
W3C_CLAIMS=certificate_number,graduated_on,institution,level,name,programme

# request FILE VERIFIER TYPES CLAIMS [KEY]: writes a presentation request signed with the
# verifier's key (or KEY) by `certledger-node verifier request` (audience = verifier id, so a
# pseudonym is shown) and prints its nonce. TYPES and CLAIMS are comma separated.
request() {
  local path="$1" verifier="$2" types="$3" claims="$4" key="${5:-$WORK/verifiers/$2.key.json}"
  "$NODE" verifier request --key "$key" --verifier-id "$verifier" --purpose "e2e check" \
    --type "$types" --claims "$claims" --out "$path" >/dev/null || return
  jv "$path" 'd["nonce"]'
}

W=("$WALLET" --wallet-dir "$WORK/wallet" --passphrase-file "$WORK/pass")
# present_verify NAME VERIFIER TYPES CLAIMS [present args...]: a request, `present`, then
# `certledger-wallet verify` of the bundle; the verdict is $OUT/NAME-verify.out.
present_verify() {
  local name="$1" verifier="$2" types="$3" claims="$4" nonce
  shift 4
  nonce="$(request "$WORK/$name.request.json" "$verifier" "$types" "$claims")"
  run "$name-present" "${W[@]}" --json present --request "$WORK/$name.request.json" --yes \
    --node "${N[0]}" --out "$WORK/$name.clb" --png "$WORK/$name.png" --no-terminal-qr "$@" || return
  run "$name-verify" "$WALLET" --json verify "$WORK/$name.clb" --trust-root "$WORK/trust-root.json" \
    --request "$WORK/$name.request.json" --seen-nonces "$WORK/seen-nonces.json" || return
  ok_json "$WORK/$name.request.json" "d['nonce'] == '$nonce'" || return
  ok_json "$OUT/$name-verify.out" 'd["verdict"] == "valid"' || return
  local c
  for c in ${claims//,/ }; do
    ok_json "$OUT/$name-verify.out" \
      "'$c' in [x['name'] for x in d['accepted']['claims']] + [x['name'] for l in d['accepted'].get('linked_credentials', []) for x in l['claims']]" ||
      return
  done
}

# ---------------------------------------------------------------------------------------------
# The cases.

case_devnet() {
  "$NODE" devnet --validators 4 --spares 1 --chain-id "$SH_CHAIN" --dir "$WORK/net" \
    >"$WORK/devnet.log" 2>&1 &
  DEVNET_PID=$!
  for _ in $(seq 1 240); do
    grep -q "node-4 (spare): http" "$WORK/devnet.log" 2>/dev/null && break
    kill -0 "$DEVNET_PID" 2>/dev/null || break
    sleep 0.25
  done
  local i
  for i in 0 1 2 3 4; do
    N[i]="$(grep -o "node-$i ([a-z]*): http://[0-9.:]*" "$WORK/devnet.log" | awk '{print $3}')"
    [ -n "${N[i]}" ] || bad "node-$i did not start: $(tail -n 5 "$WORK/devnet.log")" || return
  done
  grep -q "spare department.*dept-4.department.json" "$WORK/devnet.log" ||
    bad "the devnet did not print the spare's key files" || return
  # Every node (the spare too, following by sync) reaches a height.
  for i in 0 1 2 3 4; do
    local h=0
    for _ in $(seq 1 120); do
      h=$(curl -fsS "${N[i]}/health" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("height",0))' 2>/dev/null || echo 0)
      [ "$h" -ge 2 ] && break
      sleep 0.25
    done
    [ "$h" -ge 2 ] || bad "node-$i is at height $h" || return
  done
}

case_verify_page() {
  if [ ! -d verifier-wasm/web/pkg ]; then
    echo "  (verifier-wasm/web/pkg is not built yet: skipped)"
    return 77
  fi
  grep -q '^web_dir = ' "$WORK/net/node-0/node.toml" || bad "node.toml has no web_dir" || return
  curl -fsS "${N[0]}/verify/" -o "$OUT/verify-page.html" || bad "GET /verify/" || return
  grep -qi '<html' "$OUT/verify-page.html" || bad "/verify/ is not the page" || return
  curl -fsS -o /dev/null "${N[1]}/verify/app.js" || bad "GET /verify/app.js" || return
}

case_wallet_init() {
  # A weak KDF keeps this test fast; the wallet refuses such files unless this variable is set.
  export CERTLEDGER_WALLET_INSECURE_TEST_KDF=1
  printf 'correct horse battery staple\n' >"$WORK/pass"
  run wallet-init "${W[@]}" --json init || return
  HOLDER="$(jv "$OUT/wallet-init.out" 'd["holder_key"]')"
  curl -fsS "${N[0]}/v1/trust-root" >"$WORK/trust-root.json" || bad "GET /v1/trust-root" || return
  run trust-set "${W[@]}" trust set "$WORK/trust-root.json" || return
  write_claims
}

# The admin key of a genesis department, by id.
admin_key() {
  local i
  i="$(jv "$WORK/net/genesis.json" "[x['id'] for x in d['departments']].index('$1')")" || return
  echo "$WORK/net/keys/dept-$i.admin.key.json"
}

case_types() {
  local t pids=() rc=0
  for t in "${TYPES[@]}"; do
    run "type-register-$t" "$NODE" type register --node "${N[0]}" --json \
      --admin-key "$(admin_key "${DEPT[$t]}")" --type "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || bad "type register" || return
  for t in "${TYPES[@]}"; do
    ok_json "$OUT/type-register-$t.out" 'd["types"][0]["committed"]["height"] >= 1' || return
  done
  # Listed, proven against a cosigned checkpoint (wait until one covers the registrations).
  for _ in $(seq 1 40); do
    run type-list "$NODE" type list --node "${N[2]}" --trust-root "$WORK/trust-root.json" --json || return
    [ "$(jv "$OUT/type-list.out" 'all(t["registered"] for t in d["types"])')" = true ] && break
    sleep 0.25
  done
  ok_json "$OUT/type-list.out" 'd["verified"] and len(d["types"]) == 4' || return
  for t in "${TYPES[@]}"; do
    ok_json "$OUT/type-list.out" \
      "[x for x in d['types'] if x['alias'] == '$t' and x['registered'] and x['registered_by'] == '${DEPT[$t]}' and x['matches_shipped_profile']]" ||
      return
  done
  # Registering again is reported, not an error; another department's admin key does not matter.
  run type-register-again "$NODE" type register --node "${N[1]}" --json \
    --admin-key "$(admin_key education)" --type diploma,business-licence || return
  ok_json "$OUT/type-register-again.out" 'all(t["already"] for t in d["types"])' || return
}

case_issuers() {
  local t pids=() rc=0 p
  for t in "${TYPES[@]}"; do
    run "issuer-$t" "$NODE" issuer register --node "${N[1]}" --json \
      --admin-key "$(admin_key "${DEPT[$t]}")" --department "${DEPT[$t]}" \
      --new-key-out "$WORK/$t.issuer.key.json" --types "$t" --valid-from -1m --valid-until +365d \
      --name-zh "${DEPT[$t]} 签发系统" --name-en "${DEPT[$t]} issuing service" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || bad "issuer register" || return
  # A department admin cannot register an issuer for another department.
  refused issuer-wrong-dept "$NODE" issuer register --node "${N[1]}" \
    --admin-key "$(admin_key transport)" --department education \
    --new-key-out "$WORK/wrong.issuer.key.json" --types diploma \
    --name-zh 冒名 --name-en Impostor || return
  [ "$(cat "$OUT/issuer-wrong-dept.rc")" = 4 ] || bad "expected exit 4 (refused), got $(cat "$OUT/issuer-wrong-dept.rc")" || return
}

case_issue_each() {
  local t pids=() rc=0 p i=0
  for t in "${TYPES[@]}"; do
    # Each through another node.
    i=$((i + 1))
    run "issue-$t" "$NODE" issue --node "${N[$((i % 4))]}" --json \
      --issuer-key "$WORK/$t.issuer.key.json" --type "$t" --claims "$WORK/claims/$t.json" \
      --holder-key "$HOLDER" --out "$WORK/$t.credential.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || bad "issue" || return
  for t in "${TYPES[@]}"; do
    ok_json "$OUT/issue-$t.out" "d['type'] == 'urn:cn:certledger:vct:$t:1' and not d['resumed']" || return
    CRED[$t]="$(jv "$OUT/issue-$t.out" 'd["credential_id"]')"
    run "import-$t" "${W[@]}" --json import "$WORK/$t.credential.json" || return
    WID[$t]="$(jv "$OUT/import-$t.out" 'd["id"]')"
    ok_json "$OUT/import-$t.out" "d['issuer_department'] == '${DEPT[$t]}'" || return
  done
  # A credential can be imported once.
  refused import-again "${W[@]}" import "$WORK/diploma.credential.json" || return
}

case_verifiers() {
  local v pids=() rc=0 p
  mkdir -p "$WORK/verifiers"
  for v in "${VERIFIERS[@]}"; do
    "$NODE" keygen --out "$WORK/verifiers/$v.key.json" >/dev/null || bad "keygen $v" || return
  done
  for v in "${VERIFIERS[@]}"; do
    run "verifier-register-$v" "$NODE" verifier register --node "${N[2]}" --json \
      --admin-key "$(admin_key education)" --department education --verifier-id "$v" \
      --name-zh "$v 窗口" --name-en "$v counter" --verifier-key "$WORK/verifiers/$v.key.json" \
      --purpose "e2e=$E2E_CLAIMS" --purpose "other=name" --purpose "w3c-full=$W3C_CLAIMS" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ "$rc" = 0 ] || bad "verifier register" || return
  # Wallets check requests against the registry as of the newest cosigned checkpoint: wait until
  # one covers every registration.
  local top=0 h cp=0
  for v in "${VERIFIERS[@]}"; do
    h="$(jv "$OUT/verifier-register-$v.out" 'd["committed"]["height"]')"
    [ "$h" -gt "$top" ] && top="$h"
  done
  for _ in $(seq 1 80); do
    cp="$(curl -fsS "${N[0]}/v1/checkpoints/latest" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0)"
    [ "$cp" -ge "$top" ] && break
    sleep 0.25
  done
  [ "$cp" -ge "$top" ] || bad "no cosigned checkpoint at height $top (latest $cp)" || return
  # Another department's admin cannot rotate education's verifier: exit 4 (refused).
  refused verifier-rotate-wrong "$NODE" verifier rotate --node "${N[1]}" \
    --admin-key "$(admin_key transport)" --verifier-id counter-rotate \
    --new-key "$WORK/verifiers/counter-diploma.key.json" || return
  [ "$(cat "$OUT/verifier-rotate-wrong.rc")" = 4 ] || bad "expected exit 4, got $(cat "$OUT/verifier-rotate-wrong.rc")" || return
}

# present_code NAME REQUEST-FILE: `present` of REQUEST-FILE with the business licence; prints the
# refusal code ("ok" if it was answered).
present_code() {
  local rc=0
  timeout 120 "${W[@]}" --json present --request "$2" --yes --node "${N[0]}" \
    --out "$WORK/$1.clb" --no-terminal-qr --credential="${WID[business-licence]}" \
    >"$OUT/$1.out" 2>"$OUT/$1.err" || rc=$?
  if [ "$rc" = 0 ]; then echo ok; else jv "$OUT/$1.out" 'd["error"].get("code")'; fi
}

case_signed_requests() {
  local t=business-licence code
  # A request naming a registered verifier but signed by another key: refused, nothing written.
  "$NODE" keygen --out "$WORK/verifiers/forger.key.json" >/dev/null || bad "keygen" || return
  request "$WORK/forged.request.json" counter-business-licence "$t" entity_name \
    "$WORK/verifiers/forger.key.json" >/dev/null || return
  code="$(present_code forged "$WORK/forged.request.json")"
  [ "$code" = bad_request_signature ] || bad "forged request: $code" || return
  [ ! -e "$WORK/forged.clb" ] || bad "a bundle was written for a forged request" || return
  # A purpose that is not registered is refused, not widened to the union of the purposes.
  "$NODE" verifier request --key "$WORK/verifiers/counter-business-licence.key.json" \
    --verifier-id counter-business-licence --purpose "核验 anything" --type "$t" \
    --claims entity_name --out "$WORK/unregistered-purpose.request.json" >/dev/null || return
  code="$(present_code unregistered-purpose "$WORK/unregistered-purpose.request.json")"
  [ "$code" = unknown_purpose ] || bad "unregistered purpose: $code" || return
  # The bundle shown to the business-licence counter was accepted once: the same again is refused.
  refused verify-replayed "$WALLET" --json verify "$WORK/show-$t.clb" --trust-root "$WORK/trust-root.json" \
    --request "$WORK/show-$t.request.json" --seen-nonces "$WORK/seen-nonces.json" || return
  ok_json "$OUT/verify-replayed.out" 'd["error"]["code"] == "nonce_replayed"' || return
  # Rotation: once a checkpoint covers it, the old key's requests are refused and the new key's
  # answered. Retirement: every request refused.
  "$NODE" keygen --out "$WORK/verifiers/counter-rotate-2.key.json" >/dev/null || bad "keygen" || return
  run verifier-rotate "$NODE" verifier rotate --node "${N[3]}" --json \
    --admin-key "$(admin_key education)" --verifier-id counter-rotate \
    --new-key "$WORK/verifiers/counter-rotate-2.key.json" || return
  for _ in $(seq 1 40); do
    request "$WORK/rotated-old.request.json" counter-rotate "$t" entity_name >/dev/null || return
    code="$(present_code rotated-old "$WORK/rotated-old.request.json")"
    [ "$code" = bad_request_signature ] && break
    sleep 0.25
  done
  [ "$code" = bad_request_signature ] || bad "request by the rotated-out key: $code" || return
  request "$WORK/rotated-new.request.json" counter-rotate "$t" entity_name \
    "$WORK/verifiers/counter-rotate-2.key.json" >/dev/null || return
  code="$(present_code rotated-new "$WORK/rotated-new.request.json")"
  [ "$code" = ok ] || bad "request by the new key: $code" || return
  run verifier-retire "$NODE" verifier retire --node "${N[3]}" --json \
    --admin-key "$(admin_key education)" --verifier-id counter-rotate || return
  for _ in $(seq 1 40); do
    request "$WORK/retired.request.json" counter-rotate "$t" entity_name \
      "$WORK/verifiers/counter-rotate-2.key.json" >/dev/null || return
    code="$(present_code retired-verifier "$WORK/retired.request.json")"
    [ "$code" = verifier_retired ] && break
    sleep 0.25
  done
  [ "$code" = verifier_retired ] || bad "request of a retired verifier: $code" || return
  # The consent history lists every answered request with its signed request, and exports.
  run history "${W[@]}" --json history --out "$WORK/consents.json" || return
  ok_json "$OUT/history.out" 'len(d["records"]) >= 5 and all(r["signature_checked"] for r in d["records"])' || return
  ok_json "$OUT/history.out" '[r for r in d["records"] if r["verifier_id"] == "counter-business-licence" and r["disclosed"] == ["credit_code", "entity_name"]]' || return
  ok_json "$WORK/consents.json" 'all(r["request"].startswith("CLR1.") for r in d["records"])' || return
}

present_type() {
  local t="$1"
  present_verify "show-$t" "counter-$t" "$t" "${SHOW[$t]}" --credential="${WID[$t]}" || return
  ok_json "$OUT/show-$t-verify.out" "d['accepted']['issuer_department'] == '${DEPT[$t]}'" || return
  # What was not asked is not disclosed.
  ok_json "$OUT/show-$t-verify.out" "'${HIDE[$t]}' not in [x['name'] for x in d['accepted']['claims']]" || return
}
case_present_business_licence() { present_type business-licence; }
case_present_driving_licence() { present_type driving-licence; }
case_present_diploma() { present_type diploma; }
case_present_identity_attestation() { present_type identity-attestation; }

# A diploma issued as a full-disclosure W3C VC 2.0 (eddsa-jcs-2022): imported, listed as W3C,
# refused for a request that allows fewer claims than it carries, presented and verified for one
# that allows them all.
case_w3c() {
  local t=diploma
  run issue-w3c "$NODE" issue --node "${N[2]}" --json --format w3c \
    --issuer-key "$WORK/$t.issuer.key.json" --type "$t" --claims "$WORK/claims/$t.json" \
    --holder-key "$HOLDER" --out "$WORK/$t.w3c.credential.json" || return
  ok_json "$OUT/issue-w3c.out" "d['format'] == 'w3c' and d['type'] == 'urn:cn:certledger:vct:$t:1'" || return
  ok_json "$WORK/$t.w3c.credential.json" "'w3c_vc' in d and 'sd_jwt' not in d and 'eddsa-jcs-2022' in d['w3c_vc']" || return
  run import-w3c "${W[@]}" --json import "$WORK/$t.w3c.credential.json" || return
  ok_json "$OUT/import-w3c.out" "d['format'] == 'w3c'" || return
  WID[w3c]="$(jv "$OUT/import-w3c.out" 'd["id"]')"
  run show-w3c "${W[@]}" --lang zh show "${WID[w3c]}" || return
  grep -q "披露全部信息" "$OUT/show-w3c.out" || bad "show does not say a W3C credential discloses everything" || return
  # The counter's request allows institution and level only: a W3C diploma would disclose more.
  request "$WORK/w3c-narrow.request.json" "counter-$t" "$t" "${SHOW[$t]}" >/dev/null || bad "request" || return
  refused w3c-narrow "${W[@]}" --json present --request "$WORK/w3c-narrow.request.json" --yes \
    --node "${N[0]}" --out "$WORK/w3c-narrow.clb" --no-terminal-qr --credential="${WID[w3c]}" || return
  ok_json "$OUT/w3c-narrow.out" 'd["error"]["code"] == "would_over_disclose"' || return
  [ ! -e "$WORK/w3c-narrow.clb" ] || bad "a refused presentation wrote a bundle" || return
  # A request under the purpose allowing every claim: presented and verified.
  "$NODE" verifier request --key "$WORK/verifiers/counter-$t.key.json" --verifier-id "counter-$t" \
    --purpose "w3c-full 学历全部信息" --type "$t" --claims "$W3C_CLAIMS" \
    --out "$WORK/w3c-full.request.json" >/dev/null || bad "request w3c-full" || return
  run w3c-full-present "${W[@]}" --json present --request "$WORK/w3c-full.request.json" --yes \
    --node "${N[0]}" --out "$WORK/w3c-full.clb" --no-terminal-qr --credential="${WID[w3c]}" || return
  ok_json "$OUT/w3c-full-present.out" "d['matched_purpose'] == 'w3c-full'" || return
  run w3c-full-verify "$WALLET" --json verify "$WORK/w3c-full.clb" --trust-root "$WORK/trust-root.json" \
    --request "$WORK/w3c-full.request.json" --seen-nonces "$WORK/seen-nonces.json" || return
  ok_json "$OUT/w3c-full-verify.out" 'd["verdict"] == "valid"' || return
  ok_json "$OUT/w3c-full-verify.out" "sorted(x['name'] for x in d['accepted']['claims']) == sorted('$W3C_CLAIMS'.split(','))" || return
}

case_revoke() {
  run revoke "$NODE" revoke --node "${N[2]}" --json --issuer-key "$WORK/diploma.issuer.key.json" \
    --credential-id="${CRED[diploma]}" --reason superseded || return
  ok_json "$OUT/revoke.out" 'd["status"] == "revoked" and d["reason"] == 4' || return
  # The wallet learns it from fresh proofs (decided by core's verify_credential).
  local got=
  for _ in $(seq 1 40); do
    run refresh-revoked "${W[@]}" --json refresh --node "${N[3]}" || return
    got="$(jv "$OUT/refresh-revoked.out" "[c.get('reason') for c in d['credentials'] if c['id'] == '${WID[diploma]}']")"
    [ "$got" = '["revoked"]' ] && break
    sleep 0.25
  done
  [ "$got" = '["revoked"]' ] || bad "refresh did not report the diploma revoked: $got" || return
  # The wallet refuses to present it.
  local nonce
  nonce="$(request "$WORK/revoked.request.json" counter-diploma diploma institution)"
  refused present-revoked "${W[@]}" --json present --request "$WORK/revoked.request.json" --yes \
    --node "${N[0]}" --out "$WORK/revoked.clb" --no-terminal-qr --credential="${WID[diploma]}" || return
  ok_json "$OUT/present-revoked.out" 'd["error"]["code"] == "revoked"' || return
  # A verifier holding the bundle shown before the revocation, with its status proofs replaced
  # by the node's current ones (a verifier refreshing the status itself), refuses it: revoked.
  curl -fsS "${N[0]}/v1/proofs/credential/${CRED[diploma]}" >"$OUT/diploma-proofs.json" ||
    bad "GET proofs of the revoked diploma" || return
  python3 - "$WORK/show-diploma.clb" "$OUT/diploma-proofs.json" "$WORK/revoked.clb" <<'EOF' || bad "re-proving the old bundle" || return
import base64, json, sys
b64d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
text = open(sys.argv[1]).read().strip()
assert text.startswith("CLB1.")
raw = b64d(text[5:])
# magic (4) | presentation kind (1) | presentation length (u32 BE) | presentation | proofs
n = int.from_bytes(raw[5:9], "big")
head = raw[: 9 + n]
proofs = b64d(json.load(open(sys.argv[2]))["proofs"])
out = "CLB1." + base64.urlsafe_b64encode(head + proofs).decode().rstrip("=")
open(sys.argv[3], "w").write(out)
EOF
  # (Another verifier, with its own seen nonces: the first one used this nonce up.)
  refused verify-revoked "$WALLET" --json verify "$WORK/revoked.clb" \
    --trust-root "$WORK/trust-root.json" --nonce="$(jv "$WORK/show-diploma.request.json" 'd["nonce"]')" \
    --audience counter-diploma --seen-nonces "$WORK/seen-other.json" || return
  ok_json "$OUT/verify-revoked.out" 'd["error"]["code"] == "revoked"' || return
  # The unaltered old bundle still verifies on its own (older) proofs: what a verifier
  # without fresh status accepts; the checkpoint age bounds that window.
  run verify-old "$WALLET" --json verify "$WORK/show-diploma.clb" --trust-root "$WORK/trust-root.json" \
    --nonce="$(jv "$WORK/show-diploma.request.json" 'd["nonce"]')" --audience counter-diploma \
    --seen-nonces "$WORK/seen-other.json" || return
}

wallet_status_of() {
  local name="$1" id="$2" want="$3" got=
  for _ in $(seq 1 40); do
    run "$name" "${W[@]}" --json refresh --node "${N[1]}" || return
    got="$(jv "$OUT/$name.out" "[c['status'] for c in d['credentials'] if c['id'] == '$id']")"
    [ "$got" = "[\"$want\"]" ] && return 0
    sleep 0.25
  done
  bad "refresh: status $got, expected $want"
}

case_suspend_reinstate() {
  local key="$WORK/driving-licence.issuer.key.json" id="${CRED[driving-licence]}"
  run suspend "$NODE" suspend --node "${N[0]}" --json --issuer-key "$key" --credential-id="$id" || return
  ok_json "$OUT/suspend.out" 'd["status"] == "suspended" and d["reason"] == 6' || return
  wallet_status_of refresh-suspended "${WID[driving-licence]}" suspended || return
  request "$WORK/suspended.request.json" counter-driving-licence driving-licence name >/dev/null
  refused present-suspended "${W[@]}" --json present --request "$WORK/suspended.request.json" \
    --yes --node "${N[0]}" --out "$WORK/suspended.clb" --no-terminal-qr --credential="${WID[driving-licence]}" || return
  ok_json "$OUT/present-suspended.out" 'd["error"]["code"] == "suspended"' || return
  run reinstate "$NODE" reinstate --node "${N[3]}" --json --issuer-key "$key" --credential-id="$id" || return
  ok_json "$OUT/reinstate.out" 'd["status"] == "active" and d["reason"] == 8' || return
  wallet_status_of refresh-reinstated "${WID[driving-licence]}" active || return
  present_verify reinstated counter-driving-licence driving-licence name \
    --credential="${WID[driving-licence]}" || return
}

case_identity_batch() {
  run identity-keys "${W[@]}" --json identity keys --count 3 --out "$WORK/batch-keys.json" || return
  ok_json "$OUT/identity-keys.out" 'd["count"] == 3 and len(set(d["holder_keys"])) == 3' || return
  python3 - "$WORK/batch-keys.json" "$WORK/claims/identity-attestation.json" "$WORK/batch.jsonl" <<'EOF'
import json, sys
keys = json.load(open(sys.argv[1]))["holder_keys"]
claims = json.load(open(sys.argv[2]))
with open(sys.argv[3], "w") as f:
    for k in keys:
        f.write(json.dumps(dict(claims, holder_key=k), ensure_ascii=False) + "\n")
EOF
  run issue-batch "$NODE" issue-batch --node "${N[2]}" --json \
    --issuer-key "$WORK/identity-attestation.issuer.key.json" --type identity-attestation \
    --input "$WORK/batch.jsonl" --out-dir "$WORK/batch" || return
  ok_json "$OUT/issue-batch.out" 'd["rows"] == 3 and d["issued"] == 3 and d["remaining"] == 0' || return
  local f n=0
  for f in "$WORK"/batch/row-*.json; do
    n=$((n + 1))
    run "import-batch-$n" "${W[@]}" --json import "$f" || return
    ok_json "$OUT/import-batch-$n.out" 'd["holder_key_index"] is not None' || return
    BATCH[n]="$(jv "$OUT/import-batch-$n.out" 'd["id"]')"
  done
  [ "$n" = 3 ] || bad "expected 3 credential files, found $n" || return
  # A rerun issues nothing twice.
  run issue-batch-again "$NODE" issue-batch --node "${N[2]}" --json \
    --issuer-key "$WORK/identity-attestation.issuer.key.json" --type identity-attestation \
    --input "$WORK/batch.jsonl" --out-dir "$WORK/batch" || return
  ok_json "$OUT/issue-batch-again.out" 'd["skipped"] == 3 and d["issued"] == 0' || return
}

case_pseudonyms() {
  local ia=identity-attestation claims=age_over_18,region
  present_verify pseudo-a1 verifier-a "$ia" "$claims" || return
  present_verify pseudo-a2 verifier-a "$ia" "$claims" || return
  present_verify pseudo-b1 verifier-b "$ia" "$claims" || return
  local a1 a2 b1
  a1="$(jv "$OUT/pseudo-a1-verify.out" 'd["accepted"].get("pseudonym")')"
  a2="$(jv "$OUT/pseudo-a2-verify.out" 'd["accepted"].get("pseudonym")')"
  b1="$(jv "$OUT/pseudo-b1-verify.out" 'd["accepted"].get("pseudonym")')"
  [ -n "$a1" ] && [ "$a1" != null ] || bad "verifier A saw no pseudonym" || return
  [ "$a1" = "$a2" ] || bad "verifier A saw two pseudonyms: $a1 $a2" || return
  [ "$b1" != null ] && [ "$b1" != "$a1" ] || bad "verifier B saw A's pseudonym (or none): $b1" || return
  # Each verifier is shown its own copy of the attestation, A the same one twice.
  local ka1 ka2 kb1
  ka1="$(jv "$OUT/pseudo-a1-present.out" 'd["credential"]')"
  ka2="$(jv "$OUT/pseudo-a2-present.out" 'd["credential"]')"
  kb1="$(jv "$OUT/pseudo-b1-present.out" 'd["credential"]')"
  [ "$ka1" = "$ka2" ] && [ "$ka1" != "$kb1" ] || bad "copies: A $ka1 / $ka2, B $kb1" || return
  echo "  verifier A: $a1 (twice), verifier B: $b1"
}

case_linked() {
  present_verify linked counter-linked business-licence,identity-attestation \
    entity_name,age_over_18 --credential="${WID[business-licence]}" --with="${BATCH[3]}" || return
  ok_json "$OUT/linked-verify.out" \
    'd["accepted"]["credential_type"].endswith("business-licence:1") and len(d["accepted"].get("linked_credentials", [])) == 1' || return
  ok_json "$OUT/linked-verify.out" 'd["accepted"]["linked_credentials"][0]["linked"] is True' || return
  ok_json "$OUT/linked-verify.out" \
    'd["accepted"]["linked_credentials"][0]["credential_type"].endswith("identity-attestation:1")' || return
}

case_audit() {
  # Until a cosigned checkpoint on this node covers the revocation (complete = nothing held back).
  for _ in $(seq 1 40); do
    run audit-education "$NODE" audit department --node "${N[1]}" --json --department education \
      --trust-root "$WORK/trust-root.json" --all || return
    [ "$(jv "$OUT/audit-education.out" 'd["complete"]')" = true ] && break
    sleep 0.25
  done
  ok_json "$OUT/audit-education.out" 'd["verified"] and d["complete"]' || return
  # Every entry the department made (the audit index proves none was left out): its issuer
  # registration, the diploma's anchor and its revocation, the W3C diploma's anchor (case_w3c), and
  # its type and verifier registrations.
  ok_json "$OUT/audit-education.out" \
    'len([i for i in d["items"] if i["kind"] in ("register_issuer", "anchor_issuance", "change_status")]) == 4' || return
  ok_json "$OUT/audit-education.out" \
    'len([i for i in d["items"] if i["kind"] == "anchor_issuance"]) == 2' || return
  ok_json "$OUT/audit-education.out" \
    'any(i["kind"] == "register_type" for i in d["items"]) and any(i["kind"] == "register_verifier" for i in d["items"])' || return
  run audit-diploma "$NODE" audit credential --node "${N[3]}" --json --credential-id="${CRED[diploma]}" \
    --trust-root "$WORK/trust-root.json" || return
  ok_json "$OUT/audit-diploma.out" 'd["verified"] and len(d["items"]) == 2' || return
}

case_rotate() {
  local market="$WORK/business-licence.issuer.key.json" at
  run rotate "$NODE" issuer rotate --node "${N[0]}" --json --admin-key "$(admin_key market-regulation)" \
    --old-key "$market" --new-key-out "$WORK/market-2.issuer.key.json" --retire-old-at +5s || return
  at="$(jv "$OUT/rotate.out" 'd["old_retired_at"]')"
  # Wait until the old key is retired by block time.
  while [ "$(date +%s)" -le "$at" ]; do sleep 0.5; done
  sleep 1
  # The old key may no longer issue; the new one may.
  refused issue-retired "$NODE" issue --node "${N[1]}" --issuer-key "$market" --type business-licence \
    --claims "$WORK/claims/business-licence.json" --holder-key "$HOLDER" --out "$WORK/retired.json" || return
  [ "$(cat "$OUT/issue-retired.rc")" = 4 ] || bad "expected exit 4, got $(cat "$OUT/issue-retired.rc")" || return
  # The licence the old key anchored before its retirement still verifies, on fresh proofs.
  wallet_status_of refresh-rotated "${WID[business-licence]}" active || return
  present_verify after-rotation counter-business-licence business-licence entity_name \
    --credential="${WID[business-licence]}" || return
}

case_governance() {
  # The delay leaves room for four passphrase-sealed admin keys to be opened (Argon2id each).
  local net="$WORK/net" eff
  run gov-propose "$NODE" gov propose --node "${N[0]}" --genesis "$net/genesis.json" \
    --add "$net/keys/dept-4.department.json" --delay 20 --out "$WORK/change.json" || return
  local i
  for i in 0 1 2; do
    run "gov-approve-$i" "$NODE" gov approve "$WORK/change.json" --admin-key "$net/keys/dept-$i.admin.key.json" || return
  done
  ok_json "$OUT/gov-approve-2.out" 'd["approvals"] == 3' || return
  run gov-submit "$NODE" gov submit "$WORK/change.json" --admin-key "$net/keys/dept-0.admin.key.json" \
    --node "${N[1]}" || return
  eff="$(jv "$OUT/gov-submit.out" 'd["effective_height"]')"
  # Past the effective height on every node, the spare (now a validator) included.
  local h
  for i in 0 1 2 3 4; do
    h=0
    for _ in $(seq 1 120); do
      h=$(curl -fsS "${N[i]}/health" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("height",0))')
      [ "$h" -gt $((eff + 2)) ] && break
      sleep 0.25
    done
    [ "$h" -gt $((eff + 2)) ] || bad "node-$i is at height $h, effective height $eff" || return
  done
  for _ in $(seq 1 40); do
    run gov-chain "$NODE" gov chain --node "${N[4]}" --genesis "$net/genesis.json" || return
    [ "$(jv "$OUT/gov-chain.out" 'len(d["departments"])')" = 5 ] && break
    sleep 0.5
  done
  ok_json "$OUT/gov-chain.out" 'len(d["departments"]) == 5 and d["changes"] == 1' || return
  ok_json "$OUT/gov-chain.out" '"human-resources" in [x["id"] for x in d["departments"]]' || return
  # Commits continue under the 5-department set: a new issuance (by the rotated key), proven,
  # imported and verified against the genesis trust root.
  run issue-after-change "$NODE" issue --node "${N[4]}" --json --issuer-key "$WORK/market-2.issuer.key.json" \
    --type business-licence --claims "$WORK/claims/business-licence.json" --holder-key "$HOLDER" \
    --out "$WORK/after-change.credential.json" || return
  ok_json "$OUT/issue-after-change.out" "d['committed']['height'] > $eff" || return
  run import-after-change "${W[@]}" --json import "$WORK/after-change.credential.json" || return
  present_verify after-change counter-after-change business-licence credit_code \
    --credential="$(jv "$OUT/import-after-change.out" 'd["id"]')" || return
}

# Cross-province recognition (specs/trust-list.md): a second, small ledger ("Zhejiang", 2
# validators) next to this one ("Shanghai"); each publishes its root signed by more than two
# thirds of its departments' admin keys; the wallet holds both and a Shanghai counter verifies a
# credential from each against one trust list, the verdict naming the ledger and department.
SH_CHAIN=cn.gov.shanghai.e2e
ZJ_CHAIN=cn.gov.zhejiang.e2e
case_provinces() {
  local zj="$WORK/zj-net" zn= i t=business-licence
  "$NODE" devnet --validators 2 --chain-id "$ZJ_CHAIN" --dir "$zj" >"$WORK/zj-devnet.log" 2>&1 &
  ZJ_PID=$!
  for _ in $(seq 1 240); do
    zn="$(grep -o "node-1 ([a-z]*): http://[0-9.:]*" "$WORK/zj-devnet.log" | awk '{print $3}')"
    [ -n "$zn" ] && break
    kill -0 "$ZJ_PID" 2>/dev/null || break
    sleep 0.25
  done
  [ -n "$zn" ] || bad "the Zhejiang devnet did not start: $(tail -n 5 "$WORK/zj-devnet.log")" || return
  # A cosigned checkpoint first (the tools prove what they read against one).
  local h=0
  for _ in $(seq 1 120); do
    h=$(curl -fsS "$zn/health" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("height",0))' 2>/dev/null || echo 0)
    [ "$h" -ge 2 ] && break
    sleep 0.25
  done
  [ "$h" -ge 2 ] || bad "the Zhejiang devnet is at height $h" || return
  # Zhejiang's market regulation (department 1) registers the type and an issuer, and issues.
  run zj-type "$NODE" type register --node "$zn" --json --admin-key "$zj/keys/dept-1.admin.key.json" \
    --type "$t" || return
  run zj-issuer "$NODE" issuer register --node "$zn" --json --admin-key "$zj/keys/dept-1.admin.key.json" \
    --department market-regulation --new-key-out "$WORK/zj.issuer.key.json" --types "$t" \
    --valid-from -1m --valid-until +365d --name-zh 浙江省市场监管签发系统 --name-en "Zhejiang licence issuing" || return
  run zj-issue "$NODE" issue --node "$zn" --json --issuer-key "$WORK/zj.issuer.key.json" --type "$t" \
    --claims "$WORK/claims/$t.json" --holder-key "$HOLDER" --out "$WORK/zj.credential.json" || return
  # Each province drafts its root and its departments' admins sign it (3 of 4; 2 of 2).
  curl -fsS "$zn/v1/trust-root" >"$WORK/zj-trust-root.json" || bad "GET Zhejiang /v1/trust-root" || return
  run sh-root "$NODE" gov root-draft --trust-root "$WORK/trust-root.json" --name-zh 上海市 \
    --name-en Shanghai --sequence 1 --out "$WORK/sh.ledger-root.json" || return
  run zj-root "$NODE" gov root-draft --trust-root "$WORK/zj-trust-root.json" --name-zh 浙江省 \
    --name-en Zhejiang --sequence 1 --out "$WORK/zj.ledger-root.json" || return
  for i in 0 1 2; do
    run "sh-root-sign-$i" "$NODE" gov root-sign "$WORK/sh.ledger-root.json" \
      --admin-key "$WORK/net/keys/dept-$i.admin.key.json" || return
  done
  ok_json "$OUT/sh-root-sign-2.out" 'd["complete"]' || return
  run zj-root-sign-0 "$NODE" gov root-sign "$WORK/zj.ledger-root.json" --admin-key "$zj/keys/dept-0.admin.key.json" || return
  ok_json "$OUT/zj-root-sign-0.out" 'not d["complete"]' || return
  # Half the departments is not enough: the wallet refuses the root.
  refused zj-add-half "${W[@]}" --json trust add "$WORK/zj.ledger-root.json" || return
  run zj-root-sign-1 "$NODE" gov root-sign "$WORK/zj.ledger-root.json" --admin-key "$zj/keys/dept-1.admin.key.json" || return
  run sh-add "${W[@]}" --json trust add "$WORK/sh.ledger-root.json" || return
  # Not listed yet: the Zhejiang licence is refused at import.
  refused zj-import-unlisted "${W[@]}" --json import "$WORK/zj.credential.json" || return
  ok_json "$OUT/zj-import-unlisted.out" 'd["error"]["code"] == "unlisted_ledger"' || return
  run zj-add "${W[@]}" --json trust add "$WORK/zj.ledger-root.json" || return
  run trust-list "${W[@]}" --json trust list || return
  ok_json "$OUT/trust-list.out" '[l["name_en"] for l in d["ledgers"]] == ["Shanghai", "Zhejiang"] and all(l["signed"] for l in d["ledgers"])' || return
  run zj-import "${W[@]}" --json import "$WORK/zj.credential.json" || return
  ok_json "$OUT/zj-import.out" 'd["issued_by"]["ledger_en"] == "Zhejiang" and d["issued_by"]["ledger_zh"] == "浙江省"' || return
  # The counter's trust list: both signed roots.
  python3 -c 'import json,sys; print(json.dumps({"version": 1, "ledgers": [json.load(open(f)) for f in sys.argv[1:]]}))' \
    "$WORK/sh.ledger-root.json" "$WORK/zj.ledger-root.json" >"$WORK/trust-list.json" || return
  # One Shanghai counter: a licence from each ledger, each verdict naming its ledger.
  local name ledger zh cred
  for name in zj sh; do
    if [ "$name" = zj ]; then
      ledger=Zhejiang zh=浙江省 cred="$(jv "$OUT/zj-import.out" 'd["id"]')"
    else
      ledger=Shanghai zh=上海市 cred="$(jv "$OUT/import-after-change.out" 'd["id"]' 2>/dev/null || echo "${WID[$t]}")"
    fi
    request "$WORK/province-$name.request.json" "counter-$t" "$t" entity_name >/dev/null || return
    run "province-$name-present" "${W[@]}" --json present --request "$WORK/province-$name.request.json" \
      --yes --node "${N[0]}" --out "$WORK/province-$name.clb" --png "$WORK/province-$name.png" \
      --no-terminal-qr --credential="$cred" || return
    run "province-$name-verify" "$WALLET" --json verify "$WORK/province-$name.clb" \
      --trust-list "$WORK/trust-list.json" --request "$WORK/province-$name.request.json" \
      --seen-nonces "$WORK/seen-nonces.json" || return
    ok_json "$OUT/province-$name-verify.out" \
      "d['verdict'] == 'valid' and d['accepted']['issued_by']['ledger_en'] == '$ledger' and d['accepted']['issued_by']['ledger_zh'] == '$zh' and d['accepted']['issued_by']['department_en'] == 'State Administration for Market Regulation'" ||
      return
  done
  # A counter that trusts Shanghai only refuses the Zhejiang licence.
  refused province-zj-sh-only "$WALLET" --json verify "$WORK/province-zj.clb" --trust-root "$WORK/sh.ledger-root.json" \
    --request "$WORK/province-zj.request.json" --repeatable || return
  ok_json "$OUT/province-zj-sh-only.out" 'd["error"]["code"] == "unlisted_ledger"' || return
  # Refresh against a Shanghai node skips the Zhejiang licence instead of failing.
  run province-refresh "${W[@]}" --json refresh --node "${N[0]}" || return
  ok_json "$OUT/province-refresh.out" '[c for c in d["credentials"] if c.get("skipped") == "other_ledger"]' || return
  # Dropping Zhejiang: its licence stays stored but is no longer presented.
  run zj-drop "${W[@]}" --json trust drop "$ZJ_CHAIN" || return
  ok_json "$OUT/zj-drop.out" 'd["stored_credentials_from_it"] == 1' || return
  kill "$ZJ_PID" 2>/dev/null || true
  wait "$ZJ_PID" 2>/dev/null || true
  ZJ_PID=
}

# ---------------------------------------------------------------------------------------------
declare -a N=()
declare -A CRED=() WID=()
declare -a BATCH=()
HOLDER=
CASES=(
  "devnet: 4 validators + 1 spare department, all at a height:case_devnet"
  "node.toml web_dir: /verify/ serves the verification page:case_verify_page"
  "wallet init + trust set:case_wallet_init"
  "type register (4 departments) + type list (proven) + re-register:case_types"
  "issuer register in 4 departments, cross-department refused:case_issuers"
  "issue each shipped type + wallet import:case_issue_each"
  "verifier register (9 verifiers, their own keys), cross-department rotate refused:case_verifiers"
  "present + verify: business licence:case_present_business_licence"
  "present + verify: driving licence:case_present_driving_licence"
  "present + verify: diploma:case_present_diploma"
  "present + verify: identity attestation:case_present_identity_attestation"
  "W3C VC 2.0: issue --format w3c, import, over-disclosure refused, present + verify:case_w3c"
  "signed requests: forged, unregistered purpose, replayed nonce, rotated key, retired verifier, history:case_signed_requests"
  "revoke: refresh shows revoked, present and verify refuse (revoked):case_revoke"
  "suspend + reinstate: refused while suspended, verifies after:case_suspend_reinstate"
  "identity batch: identity keys --count 3, issue-batch, import, rerun idempotent:case_identity_batch"
  "per-verifier pseudonyms: A twice the same, B another:case_pseudonyms"
  "licence --with attestation verifies as linked:case_linked"
  "audit department + credential verify:case_audit"
  "issuer rotate: old key retired, its credential still verifies:case_rotate"
  "governance: add the spare department, 5 departments, commits continue:case_governance"
  "provinces: a 2-validator Zhejiang devnet, signed ledger roots, one trust list, one counter:case_provinces"
)
PASSED=0 FAILED=0 SKIPPED=0
for entry in "${CASES[@]}"; do
  title="${entry%:*}" fn="${entry##*:}"
  if [ "$FAILED" -gt 0 ]; then
    SKIPPED=$((SKIPPED + 1))
    echo "skip  $title"
    continue
  fi
  t0=$SECONDS rc=0
  "$fn" || rc=$?
  case "$rc" in
    0) PASSED=$((PASSED + 1)) && echo "ok    $title ($((SECONDS - t0)) s)" ;;
    77) SKIPPED=$((SKIPPED + 1)) && echo "skip  $title" ;;
    *)
      FAILED=$((FAILED + 1))
      echo "FAIL  $title ($((SECONDS - t0)) s)"
      tail -n 20 "$WORK/devnet.log" >&2 2>/dev/null || true
      ;;
  esac
done
echo "e2e: total $((SECONDS - START)) s"
if [ "$SKIPPED" -gt 0 ]; then
  echo "e2e: $PASSED passed, $FAILED failed, $SKIPPED skipped"
else
  echo "e2e: $PASSED passed, $FAILED failed"
fi
[ "$FAILED" = 0 ]
