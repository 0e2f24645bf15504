// qmail's checkpassword interface: fd 3 in, exit 1/2/111, or become the next program.
// One CommonJS bundle (scripts/bundle-checkpassword.sh): every POP login pays its start-up.
// Started by bin/authmux-checkpassword, which chooses Node's flags.
//
// Without the JIT (under a tight address-space limit) there is no WebAssembly, which
// Node's fetch globals (undici) need the moment they are touched; pg touches Response
// at load. This program never fetches, so they are removed either way.
for (const name of ['fetch', 'FormData', 'Headers', 'Request', 'Response', 'MessageEvent', 'WebSocket', 'EventSource']) delete globalThis[name];
const { checkpasswordMain } = require('../dist/checkpassword.cjs');

checkpasswordMain(process.argv.slice(2), process.env).then((code) => process.exit(code));
