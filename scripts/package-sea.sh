#!/bin/sh
# Writes dist/saslauthd: the daemon as one executable (Node's single
# executable applications), so that its process is that file, as init scripts
# expect of /usr/sbin/saslauthd. Run after the build (`npm run package` does).
# All JavaScript is bundled in; the crypt worker rides along as an asset, as a
# worker thread needs its own source. koffi and unix-dgram hold compiled parts
# no bundle can carry: they load at run time (src/cli/native-home.ts).
set -e
cd "$(dirname "$0")/.."
node=$(node -p process.execPath)
out=dist/sea
rm -rf "$out"
mkdir -p "$out"
# Their output (postject warns about every ELF note section it cannot name) is shown only when they fail.
quiet() {
  "$@" >"$out/step.log" 2>&1 || { cat "$out/step.log" >&2; return 1; }
}
bundle() {
  entry=$1 outfile=$2
  shift 2
  npx esbuild "$entry" --bundle --platform=node --format=cjs --log-level=warning --outfile="$outfile" \
    --external:pg-native --define:import.meta.url=undefined \
    --define:AUTHMUX_PACKAGED_IN="$(node -p 'JSON.stringify(process.cwd())')" "$@"
}
# The executable's own require loads built-ins only, and warns on stderr at the
# first other name. The optional packages that mysql2 and debug try inside a
# try block (cardinal, supports-color) must simply be missing, as node says.
# The bundle is strict code: the banner comes before esbuild's "use strict".
only_builtins='"use strict";
require = ((load) => Object.assign((id) => {
  if (load("node:module").isBuiltin(id)) return load(id);
  throw Object.assign(new Error(`Cannot find module ${JSON.stringify(id)}`), { code: "MODULE_NOT_FOUND" });
}, { main: load.main }))(require);'
bundle dist/src/crypt/js/worker.js "$out/crypt-worker.cjs"
bundle dist/src/cli/sea-main.js "$out/main.cjs" --banner:js="$only_builtins"
cat > "$out/sea-config.json" <<JSON
{
  "main": "$out/main.cjs",
  "output": "$out/blob",
  "disableExperimentalSEAWarning": true,
  "assets": { "crypt-worker.cjs": "$out/crypt-worker.cjs" }
}
JSON
quiet "$node" --experimental-sea-config "$out/sea-config.json"
cp "$node" "$out/saslauthd"
quiet npx postject "$out/saslauthd" NODE_SEA_BLOB "$out/blob" --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
chmod 755 "$out/saslauthd"
mv "$out/saslauthd" dist/saslauthd
