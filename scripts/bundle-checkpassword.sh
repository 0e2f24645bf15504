#!/bin/sh
# The checkpassword program starts once per POP login, so it loads as one
# CommonJS file: Node's ESM loader costs it about 20 ms over ~40 modules
# (bench/checkpassword.sh). Packages stay outside and load only when needed;
# backends behind dynamic imports stay lazy. The crypt worker is found next
# to import.meta.url, so the bundle's import.meta.url names the compiled
# worker's directory.
set -e
cd "$(dirname "$0")/.."
npx esbuild dist/src/cli/checkpassword.js --bundle --platform=node --format=cjs \
  --packages=external --log-level=warning \
  --define:import.meta.url=__bundleMetaUrl \
  --banner:js="const __bundleMetaUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'src/crypt/js/bundle.cjs')).href;" \
  --outfile=dist/checkpassword.cjs
