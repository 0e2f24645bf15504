#!/bin/sh
# Installs dependencies and compiles when they are missing or stale, so that
# `npm start` and `npm test` work on a fresh checkout without a separate step.
set -e
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ ! -f dist/src/cli/main.js ] || [ -n "$(find src test tsconfig.json -newer dist/.built 2>/dev/null | head -n 1)" ] || [ ! -f dist/.built ]; then
  # Compiled from scratch: a moved or removed source must not leave its old output (or an old test) behind.
  rm -rf dist
  npx tsc -p tsconfig.json
  sh scripts/bundle-checkpassword.sh
  touch dist/.built
fi
