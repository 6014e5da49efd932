#!/usr/bin/env bash
# Installs Prism (@stoplight/prism-cli), which the integration tests use to
# check every request Switchboard sends against Intercom's OpenAPI description.
# It goes into build/prism under the repo root; nothing is installed globally.
# Idempotent. Outside CI a failed install only warns (the tests then print
# "skipped: Prism not installed"); in CI (CI=true) it fails the run, so the
# checks can never be skipped there unnoticed.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="$ROOT/build/prism"
PRISM="$PREFIX/node_modules/.bin/prism"
VERSION="${PRISM_VERSION:-5}"   # pinned major version

# Already installed and working: nothing to do.
if [ -x "$PRISM" ] && "$PRISM" --version >/dev/null 2>&1; then
    echo "prism $("$PRISM" --version) already installed in $PREFIX"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "WARNING: npm not found; Prism not installed (OpenAPI checks will be skipped)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 0
fi

mkdir -p "$PREFIX"
if npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        --fetch-timeout=30000 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
        "@stoplight/prism-cli@$VERSION" \
   && "$PRISM" --version >/dev/null 2>&1; then
    echo "prism $("$PRISM" --version) installed in $PREFIX"
else
    echo "WARNING: could not install Prism from the npm registry; OpenAPI checks will be skipped" >&2
    [ "${CI:-}" = true ] && exit 1
fi
exit 0
