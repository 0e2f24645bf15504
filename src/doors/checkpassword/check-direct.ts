import { AuthChain } from '../../auth/chain.js';
import { newPenaltyTable, PenaltyGate } from '../../auth/penalty-gate.js';
import { sharedPenaltyFor } from '../../auth/shared-penalty.js';
import type { AuthRequest } from '../../auth/types.js';
import { createBackends } from '../../backends/index.js';
import type { Config } from '../../config/config.js';
import { createVerifier } from '../../crypt/verifier.js';
import type { Logger } from '../../log.js';
import type { DoorReply } from '../../protocol/checkpassword-door.js';
import { replyOf } from '../checkpassword-socket.js';

/** How long a login waits for the penalty store's connection before counting without it. */
const STORE_CONNECT_MS = 250;

/**
 * Without a daemon: the sources and the verifier in this process, no cache
 * (it would die with the process). The per-address penalty needs counts
 * that outlive one login, so here it works only with penalty_store: redis;
 * auth_failure_delay applies either way.
 */
export async function checkDirect(config: Config, req: AuthRequest, log: Logger): Promise<DoorReply> {
  const verifier = createVerifier({ engine: config.cryptEngine, concurrency: 1 });
  const auth = new AuthChain({ backends: await createBackends(config, log), verifier, combineRealm: false });
  let warned = false;
  const shared = await sharedPenaltyFor(config, (err) => {
    if (!warned) log.warn(`penalty store (Redis): ${err.message}; this login is not held back by its address's failures`);
    warned = true;
  });
  // Counts only through the store: a table of this process's own would die with it.
  const gate = new PenaltyGate({ table: shared ? newPenaltyTable(config) : undefined, exempt: config.penalty.trusted, failureDelayMs: config.penalty.failureDelayMs, shared });
  const login: AuthRequest = { ...req, realmInLogin: true };
  try {
    if (shared && req.clientIp !== undefined) await shared.connected(STORE_CONNECT_MS);
    const { result } = await gate.run(login, undefined, () => auth.authenticate(login, { needRecord: true }));
    return replyOf(result);
  } finally {
    await shared?.close();
    await auth.close();
    await verifier.close();
  }
}
