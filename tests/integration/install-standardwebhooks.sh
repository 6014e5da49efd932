#!/usr/bin/env bash
# Installs the standardwebhooks npm package (the reference implementation of
# Standard Webhooks) into PREFIX (default: build/standardwebhooks under the
# repo root). The product-event tests verify every delivery with it, so it
# stays independent of Switchboard's own signer. Idempotent. Outside CI a
# failed install only warns (the tests then print "skipped: ..."); in CI
# (CI=true) it fails, so the checks are never skipped there unnoticed.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="${1:-$ROOT/build/standardwebhooks}"
VERSION="${STANDARDWEBHOOKS_VERSION:-1}"   # pinned major version

if [ -f "$PREFIX/node_modules/standardwebhooks/package.json" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "WARNING: node or npm not found; standardwebhooks not installed" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 0
fi
mkdir -p "$PREFIX"
if npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        --fetch-timeout=30000 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
        "standardwebhooks@$VERSION"; then
    echo "standardwebhooks installed in $PREFIX"
else
    echo "WARNING: could not install standardwebhooks from the npm registry" >&2
    [ "${CI:-}" = true ] && exit 1
fi
exit 0
