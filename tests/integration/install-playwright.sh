#!/usr/bin/env bash
# Installs playwright-core (a DevTools client for Chromium, without browsers of
# its own) into PREFIX (default: build/browser under the repo root). The web
# console's browser tests (test_browser_console.py) drive Debian's chromium
# with it. Nothing is installed globally and no browser is downloaded.
# Idempotent. Outside CI a failed install only warns (the tests then print
# "skipped: no browser client"); in CI (CI=true) it fails the run, so the
# browser tests can never be skipped there unnoticed.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="${1:-$ROOT/build/browser}"
VERSION="${PLAYWRIGHT_CORE_VERSION:-1.65.2}"   # pinned: the DevTools protocol it speaks moves
PACKAGE_JSON="$PREFIX/node_modules/playwright-core/package.json"

installed_version() {
    node -e 'console.log(require(process.argv[1]).version)' "$PACKAGE_JSON" 2>/dev/null
}

if [ -f "$PACKAGE_JSON" ] && [ "$(installed_version)" = "$VERSION" ]; then
    echo "playwright-core $VERSION already installed in $PREFIX"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "WARNING: node or npm not found; playwright-core not installed (browser tests will be skipped)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 0
fi
mkdir -p "$PREFIX"
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core fetches no browser anyway; this keeps it so.
if PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PREFIX" --no-audit --no-fund \
        --loglevel=error --fetch-timeout=30000 --fetch-retry-mintimeout=2000 \
        --fetch-retry-maxtimeout=10000 "playwright-core@$VERSION" \
   && [ "$(installed_version)" = "$VERSION" ]; then
    echo "playwright-core $VERSION installed in $PREFIX"
else
    echo "WARNING: could not install playwright-core from the npm registry; browser tests will be skipped" >&2
    [ "${CI:-}" = true ] && exit 1
fi
exit 0
