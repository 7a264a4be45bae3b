#!/usr/bin/env bash
# Supply-chain check: `cargo deny check` (advisories, bans, licenses, sources) with deny.toml,
# against the offline RustSec snapshot in ../shared/advisory-db (override: CERTLEDGER_ADVISORY_DB).
# The snapshot is read in place: cargo-deny wants a git repository, so a throw-away git copy is
# made under $CARGO_TARGET_DIR and a generated config points cargo-deny at it (file:// URL).
# Without the snapshot: a message and exit 0 outside CI, a failure under CI=true.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT"

db="${CERTLEDGER_ADVISORY_DB:-$ROOT/../shared/advisory-db}"
if ! [ -d "$db/crates" ]; then
  if [ "${CI:-}" = true ]; then
    echo "error: advisory database not found at $db (set CERTLEDGER_ADVISORY_DB)" >&2
    exit 1
  fi
  echo "SKIP: advisory database not found at $db (set CERTLEDGER_ADVISORY_DB); cargo deny not run" >&2
  exit 0
fi
command -v cargo-deny >/dev/null 2>&1 || {
  echo "error: cargo-deny is not installed (scripts/setup.sh installs it)" >&2
  exit 1
}

work="$CARGO_TARGET_DIR/deny"
rm -rf "$work"
mkdir -p "$work/dbs"
# A git repository holding exactly the snapshot's files (one commit, fixed identity and date so
# the copy is reproducible).
cp -R "$db" "$work/advisory-db"
(
  cd "$work/advisory-db"
  git init -q -b main .
  git add -A
  GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
    git -c user.name=certledger -c user.email=certledger@invalid -c commit.gpgsign=false \
    commit -q -m "RustSec advisory database snapshot"
)

# deny.toml plus where the database is: the committed file names no database, so a developer can
# still run plain `cargo deny check` against the live RustSec database.
config="$work/deny.toml"
awk -v url="file://$work/advisory-db" -v path="$work/dbs" '
  { print }
  /^\[advisories\]$/ { print "db-urls = [\"" url "\"]"; print "db-path = \"" path "\"" }
' deny.toml >"$config"
grep -q '^db-urls' "$config" || { echo "error: deny.toml has no [advisories] section" >&2; exit 1; }

# `fetch` clones the local copy into db-path; `check --disable-fetch` then uses only that.
cargo deny --locked --manifest-path "$ROOT/Cargo.toml" fetch --config "$config" db
cargo deny --locked --manifest-path "$ROOT/Cargo.toml" check --config "$config" --disable-fetch \
  --show-stats advisories bans licenses sources
