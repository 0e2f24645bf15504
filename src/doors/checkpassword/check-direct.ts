import { AuthChain } from '../../auth/chain.js';
import type { AuthRequest } from '../../auth/types.js';
import { createBackends } from '../../backends/index.js';
import type { Config } from '../../config/config.js';
import { createVerifier } from '../../crypt/verifier.js';
import type { Logger } from '../../log.js';
import type { DoorReply } from '../../protocol/checkpassword-door.js';
import { replyOf } from '../checkpassword-socket.js';

/** Without a daemon: the sources and the verifier in this process, no cache (it would die with the process). */
export async function checkDirect(config: Config, req: AuthRequest, log: Logger): Promise<DoorReply> {
  const verifier = createVerifier({ engine: config.cryptEngine, concurrency: 1 });
  const auth = new AuthChain({ backends: await createBackends(config, log), verifier, combineRealm: false });
  try {
    return replyOf(await auth.authenticate({ ...req, realmInLogin: true }, { needRecord: true }));
  } finally {
    await auth.close();
    await verifier.close();
  }
}
