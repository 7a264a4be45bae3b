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
# cargo-deny keeps the database for URL U in db-path/<last path segment>-<xxhash64 of U>; this
# is the directory for the RustSec URL (stable for the pinned cargo-deny; a version that names it
# differently fails loudly below, "failed to get 'FETCH_HEAD' metadata ... No such file").
url="https://github.com/rustsec/advisory-db"
clone="$work/dbs/advisory-db-3157b0e258782691"
mkdir -p "$work/dbs"
cp -R "$db" "$clone"
# A git repository holding exactly the snapshot's files, committed at the snapshot's date (from
# SNAPSHOT.md), so cargo-deny's staleness check measures the snapshot's real age.
snap_date="$(grep -o '([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\})' "$db/SNAPSHOT.md" 2>/dev/null | head -n 1 | tr -d '()')" || true
snap_date="${snap_date:-$(date -u +%F)}"
(
  cd "$clone"
  git init -q -b main .
  git add -A
  GIT_AUTHOR_DATE="${snap_date}T00:00:00Z" GIT_COMMITTER_DATE="${snap_date}T00:00:00Z" \
    git -c user.name=certledger -c user.email=certledger@invalid -c commit.gpgsign=false \
    commit -q -m "RustSec advisory database snapshot"
)
max_age="${CERTLEDGER_ADVISORY_MAX_AGE_DAYS:-365}"
age=$(( ($(date -u +%s) - $(date -u -d "$snap_date" +%s)) / 86400 ))
echo "deny: advisory database $db (snapshot of $snap_date, $age days old; at most $max_age allowed)"

# deny.toml plus where the database is: the committed file names none, so a developer can still
# run plain `cargo deny check` against the live RustSec database.
config="$work/deny.toml"
awk -v url="$url" -v path="$work/dbs" -v age="P${max_age}D" '
  { print }
  /^\[advisories\]$/ {
    print "db-urls = [\"" url "\"]"; print "db-path = \"" path "\""
    print "maximum-db-staleness = \"" age "\""
  }
' deny.toml >"$config"
grep -q '^db-urls' "$config" || { echo "error: deny.toml has no [advisories] section" >&2; exit 1; }

# Offline: cargo-deny reads the copy above and never fetches; cargo metadata reads the registry
# cache, which `cargo fetch` fills for every target. (Yanked crates need the live crates.io
# index, so they are not checked here.)
cargo fetch --locked --manifest-path "$ROOT/Cargo.toml" --quiet
cargo deny --config "$config" --manifest-path "$ROOT/Cargo.toml" --locked --offline \
  check --show-stats advisories bans licenses sources
